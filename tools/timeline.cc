// timeline_html (checker.h): operations and faults over time as one inline SVG.
#include <algorithm>
#include <map>

#include "tools/checker.h"

namespace shoal::check {

namespace {

std::string escape(std::string_view s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '&':
        out += "&amp;";
        break;
      case '"':
        out += "&quot;";
        break;
      default:
        out += static_cast<unsigned char>(c) < 0x20 && c != '\n' ? '?' : c;
    }
  }
  return out;
}

const char* colour(EventType outcome) {
  switch (outcome) {
    case EventType::kOk:
      return "#2e9e44";
    case EventType::kFail:
      return "#d33f3f";
    default:
      return "#e8a10f";
  }
}

// Shading for the time a fault holds (until the next nemesis event).
const char* band(const std::string& f) {
  if (f == "heal" || f == "resume" || f == "restart" || f == "start") return nullptr;
  if (f == "kill") return "#9aa0a6";
  if (f == "pause") return "#8ab4f8";
  return "#f28b82";  // partitions, isolation, one-way cuts, delays, loss
}

constexpr int kWidth = 1200, kLeft = 90, kLane = 14, kTop = 50;

// The drawing's geometry: the time axis, one lane per client, the height.
struct Frame {
  uint64_t end_ms = 1;
  std::map<uint32_t, int> lanes;  // client -> lane
  int height = 0;
  double x(uint64_t t) const {
    return kLeft + static_cast<double>(std::min(t, end_ms)) * (kWidth - kLeft - 60) / end_ms;
  }
};

Frame frame_of(const std::vector<Event>& h) {
  Frame fr;
  // The axis spans the operations and faults; the quiet wait and the final reads after
  // them are drawn at its right edge.
  for (const Event& e : h) {
    if (e.type != EventType::kRead && e.f != "settled" && e.f != "not settled") {
      fr.end_ms = std::max(fr.end_ms, e.time_ms);
    }
    if (e.type == EventType::kInvoke) fr.lanes.emplace(e.process, 0);
  }
  int i = 0;
  for (auto& [p, lane] : fr.lanes) lane = i++;
  fr.height = kTop + static_cast<int>(fr.lanes.size()) * kLane + 40;
  return fr;
}

// Faults: a band from each event to the next, labelled.
std::string fault_bands(const std::vector<Event>& h, const Frame& fr) {
  std::string svg;
  const int height = fr.height;
  std::vector<const Event*> faults;
  for (const Event& e : h) {
    if (e.type == EventType::kNemesis) faults.push_back(&e);
  }
  for (size_t k = 0; k < faults.size(); ++k) {
    const Event& f = *faults[k];
    const uint64_t until = k + 1 < faults.size() ? faults[k + 1]->time_ms : fr.end_ms;
    const double x0 = fr.x(f.time_ms), x1 = std::max(fr.x(until), x0 + 1);
    if (const char* c = band(f.f)) {
      svg += "<rect x='" + std::to_string(x0) + "' y='" + std::to_string(kTop - 4) + "' width='" +
             std::to_string(x1 - x0) + "' height='" + std::to_string(height - kTop - 30) +
             "' fill='" + c + "' opacity='0.35'><title>" + escape(f.f + " " + f.detail) +
             "</title></rect>";
    }
    svg += "<line x1='" + std::to_string(x0) + "' x2='" + std::to_string(x0) + "' y1='" +
           std::to_string(kTop - 14) + "' y2='" + std::to_string(height - 30) +
           "' stroke='#555' stroke-dasharray='2,2'/>";
    svg += "<text x='" + std::to_string(x0 + 2) + "' y='" +
           std::to_string(kTop - 16 - (k % 3) * 10) + "'>" + escape(f.f) +
           (f.f == "kill" || f.f == "pause" || f.f == "restart" || f.f == "resume"
                ? " " + escape(f.detail)
                : "") +
           "<title>" + escape(f.f + " " + f.detail) + "</title></text>";
  }
  return svg;
}

// Operations: a bar from invoke to completion on the client's lane.
std::string operation_bars(const std::vector<Event>& h, Frame& fr) {
  std::string svg;
  std::map<uint64_t, const Event*> invokes;
  for (const Event& e : h) {
    if (e.type == EventType::kInvoke) {
      invokes[e.op] = &e;
      continue;
    }
    if (e.type != EventType::kOk && e.type != EventType::kFail && e.type != EventType::kInfo)
      continue;
    auto it = invokes.find(e.op);
    if (it == invokes.end()) continue;
    const Event& in = *it->second;
    const double x0 = fr.x(in.time_ms), x1 = std::max(fr.x(e.time_ms), x0 + 1.5);
    // Failed and indeterminate operations are thin bars at the bottom of the lane, so
    // the ones that overlap them (concurrent clients sharing a lane) stay visible.
    const bool ok = e.type == EventType::kOk;
    const int y = kTop + fr.lanes[in.process] * kLane + (ok ? 0 : kLane - 7);
    svg += "<rect x='" + std::to_string(x0) + "' y='" + std::to_string(y) + "' width='" +
           std::to_string(x1 - x0) + "' height='" + std::to_string(ok ? kLane - 4 : 3) +
           "' fill='" + colour(e.type) + "'><title>" +
           escape(in.f + " " + in.key + " " +
                  (in.f == "counter_add" ? std::to_string(in.delta) : in.element) + " via " +
                  in.node + ": " + std::string(event_type_name(e.type)) + " " + e.detail) +
           "</title></rect>";
  }
  return svg;
}

// The lane labels and the time axis ticks.
std::string axes(const Frame& fr) {
  std::string svg;
  for (const auto& [p, lane] : fr.lanes) {
    svg += "<text x='4' y='" + std::to_string(kTop + lane * kLane + 9) + "'>client " +
           std::to_string(p) + "</text>";
  }
  for (int s = 0; s <= 10; ++s) {
    const uint64_t t = fr.end_ms * static_cast<uint64_t>(s) / 10;
    svg += "<text x='" + std::to_string(fr.x(t) - 10) + "' y='" + std::to_string(fr.height - 12) +
           "'>" + std::to_string(t / 1000.0).substr(0, 5) + "s</text>";
  }
  return svg;
}

}  // namespace

std::string timeline_html(const std::vector<Event>& h, const Verdict& v, const std::string& title) {
  Frame fr = frame_of(h);
  std::string svg = "<svg xmlns='http://www.w3.org/2000/svg' width='" + std::to_string(kWidth) +
                    "' height='" + std::to_string(fr.height) +
                    "' font-family='sans-serif' font-size='10'>";
  svg += fault_bands(h, fr);
  svg += operation_bars(h, fr);
  svg += axes(fr);
  svg += "</svg>";
  std::string out =
      "<!doctype html><html><head><meta charset='utf-8'><title>" + escape(title) +
      "</title><style>body{font-family:sans-serif;margin:16px}pre{background:#f4f4f4;"
      "padding:8px}</style></head><body><h2>" +
      escape(title) + ": " +
      (v.valid ? "<span style='color:#2e9e44'>VALID</span>"
               : "<span style='color:#d33f3f'>INVALID</span>") +
      "</h2><p>Bars: operations from invoke to completion (green ok; thin red failed, "
      "thin amber indeterminate); hover for details. Shaded: faults in force.</p>" +
      svg + "<pre>" + escape(summary_table(v)) + "</pre></body></html>\n";
  return out;
}

}  // namespace shoal::check
