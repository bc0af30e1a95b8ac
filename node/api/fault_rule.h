// The text form of a chaos rule (docs/chaos.md), as `shoal chaos` and the admin `chaos`
// operation carry it, parsed into the core's typed core::FaultRule. Syntax and ranges are
// checked here; whether the nodes it names exist is the node's to say (not_found).
#pragma once

#include <string>
#include <string_view>

#include "crdt/status.h"
#include "node/core/fault_filter.h"

namespace shoal::api {

constexpr size_t kMaxFaultRuleBytes = 4096;

// One rule: whitespace-separated words, NODES a comma-separated list, "ms" and "%"
// suffixes allowed on numbers. invalid_argument "chaos rule: ..." naming what is wrong
// and listing the rules, for anything else (including more than kMaxFaultRuleBytes).
Result<core::FaultRule> parse_fault_rule(std::string_view text);

}  // namespace shoal::api
