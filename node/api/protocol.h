// The native protocol (docs/protocol.md): length-prefixed msgpack frames over TCP.
// An umbrella header for the code that speaks all of it (node/uv, tools/); each part
// states its own contract:
//
//   frames.h           frame header, size limits, FrameReader
//   client_request.h   Op, Request, check_request, the request frame's codec
//   client_response.h  Response, MemberInfo, the response frame's codec
//   peer_codec.h       hello, welcome and core::Message frames between nodes
//
// Client frames are msgpack maps with short string keys, so a client in any language
// can speak them; peer frames are compact arrays. Every decoder returns a Status for
// bad input (never throws, never crashes). This library is pure (no sockets): node/uv
// and the client library in tools/ share it.
#pragma once

#include "node/api/client_request.h"
#include "node/api/client_response.h"
#include "node/api/frames.h"
#include "node/api/peer_codec.h"
