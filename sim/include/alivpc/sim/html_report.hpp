// alivpc-simulate --html: one self-contained HTML file (inline SVG and CSS, no network, readable
// offline) with the ready-time CDF per strategy, route-table occupancy against the quota, API
// calls per minute by outcome, leases held over time, and every safety violation or liveness
// failure on a timeline with the command that replays its seed.
//
// Each plotted series is an SVG element with data-series="<chart>/<name>" (and points), so a
// test can ask a browser what it drew: a small inline script writes every series' rendered
// bounding box into <body data-rendered="...">.
#pragma once

#include <alivpc/sim/scenario_report.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>
#include <numeric>
#include <string>
#include <vector>

namespace alivpc::sim {

// A safety violation or liveness failure of one seed of one strategy.
struct timeline_entry {
  std::string strategy;
  std::uint64_t seed = 0;
  report_event event;
};

struct html_input {
  std::string title;          // the scenario's name
  std::string scenario_path;  // for the replay commands
  // One run per strategy with its minute samples (for a sweep: the worst seed, re-run).
  std::vector<scenario_report> runs;
  // Ready times per strategy for the CDF; for a sweep, pooled over every seed.
  std::map<std::string, std::vector<double>> ready_seconds;
  std::map<std::string, std::size_t> nodes;  // per strategy, ready or not (x seeds)
  std::string ready_note;                    // what the CDF covers, e.g. "50 nodes x 200 seeds"
  std::vector<timeline_entry> timeline;
};

namespace html_detail {

inline std::string escape(const std::string& text) {
  std::string out;
  for (char c : text) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

inline std::string num(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.4g", v);
  return buf;
}

inline std::string fixed(double v, int digits = 1) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.*f", digits, v);
  return buf;
}

// By series name; "<strategy> ready" (dashed) takes its strategy's colour.
inline const char* color_of(std::string name) {
  if (name.ends_with(" ready")) name.resize(name.size() - 6);
  static const std::map<std::string, const char*> colors{
      {"robust", "#1f77b4"},  {"classic", "#d62728"},  {"leader", "#2ca02c"},
      {"success", "#2ca02c"}, {"conflict", "#ff7f0e"}, {"throttled", "#9467bd"},
      {"error", "#d62728"},   {"quota", "#555555"}};
  auto it = colors.find(name);
  return it == colors.end() ? "#17becf" : it->second;
}

// A round step for about `ticks` ticks over [0, max].
inline double tick_step(double max, int ticks = 5) {
  if (max <= 0) return 1;
  double raw = max / ticks, mag = std::pow(10.0, std::floor(std::log10(raw)));
  for (double m : {1.0, 2.0, 5.0, 10.0})
    if (raw <= m * mag) return m * mag;
  return 10 * mag;
}

// A line chart: x and y from 0, axes with round ticks, one polyline per series, a legend.
class svg_chart {
 public:
  svg_chart(std::string id, std::string x_label, std::string y_label)
      : id_(std::move(id)), x_label_(std::move(x_label)), y_label_(std::move(y_label)) {}

  void add(std::string name, std::vector<std::pair<double, double>> points, bool dashed = false) {
    for (auto& [x, y] : points) {
      x_max_ = std::max(x_max_, x);
      y_max_ = std::max(y_max_, y);
    }
    series_.push_back({std::move(name), std::move(points), dashed});
  }
  void fix_y_max(double y) { y_fixed_ = y; }

  std::string render() const {
    const double y_max = y_fixed_ > 0 ? y_fixed_ : std::max(1.0, y_max_ * 1.05);
    const double x_max = std::max(x_max_, 1e-9);
    auto px = [&](double x) { return left + (width - left - right) * x / x_max; };
    auto py = [&](double y) { return height - bottom - (height - top - bottom) * y / y_max; };
    std::string s = "<svg class=\"chart\" id=\"" + id_ + "\" width=\"" + num(width) +
                    "\" height=\"" + num(height) + "\" viewBox=\"0 0 " + num(width) + " " +
                    num(height) + "\" xmlns=\"http://www.w3.org/2000/svg\">\n";
    // Axes and ticks.
    s += "<g class=\"axes\" stroke=\"#999\" fill=\"#333\" font-size=\"11\">";
    s += line(left, py(0), width - right, py(0)) + line(left, py(0), left, top);
    for (double x = 0, step = tick_step(x_max); x <= x_max * 1.0001; x += step)
      s += line(px(x), py(0), px(x), py(0) + 4) + text(px(x), py(0) + 16, num(x), "middle");
    for (double y = 0, step = tick_step(y_max); y <= y_max * 1.0001; y += step)
      s += line(left - 4, py(y), left, py(y)) + text(left - 6, py(y) + 4, num(y), "end") +
           "<line x1=\"" + num(left) + "\" y1=\"" + num(py(y)) + "\" x2=\"" + num(width - right) +
           "\" y2=\"" + num(py(y)) + "\" stroke=\"#eee\"/>";
    s += text((left + width - right) / 2, height - 6, escape(x_label_), "middle");
    s += "<text x=\"14\" y=\"" + num((top + height - bottom) / 2) +
         "\" text-anchor=\"middle\" transform=\"rotate(-90 14 " + num((top + height - bottom) / 2) +
         ")\">" + escape(y_label_) + "</text></g>\n";
    // Series and legend.
    double legend_x = left + 8;
    for (const auto& se : series_) {
      std::string pts;
      for (auto& [x, y] : se.points)
        pts += num(px(x)) + "," + num(py(y)) + " ";
      s += "<polyline data-series=\"" + id_ + "/" + escape(se.name) + "\" data-points=\"" +
           std::to_string(se.points.size()) + "\" fill=\"none\" stroke-width=\"1.6\" stroke=\"" +
           color_of(se.name) + "\"" + (se.dashed ? " stroke-dasharray=\"6 4\"" : "") +
           " points=\"" + pts + "\"/>\n";
      // The swatch is a stroke of the series' own kind, so solid and dashed tell apart.
      s += "<line x1=\"" + num(legend_x) + "\" y1=\"" + num(top - 12) + "\" x2=\"" +
           num(legend_x + 13) + "\" y2=\"" + num(top - 12) + "\" stroke-width=\"3\" stroke=\"" +
           color_of(se.name) + "\"" + (se.dashed ? " stroke-dasharray=\"4 2\"" : "") + "/>" +
           text(legend_x + 16, top - 9, escape(se.name), "start");
      legend_x += 28 + 8.0 * static_cast<double>(se.name.size());
    }
    return s + "</svg>\n";
  }

 private:
  static constexpr double width = 860, height = 250, left = 56, right = 16, top = 26, bottom = 36;
  struct series {
    std::string name;
    std::vector<std::pair<double, double>> points;
    bool dashed;
  };
  static std::string line(double x1, double y1, double x2, double y2) {
    return "<line x1=\"" + num(x1) + "\" y1=\"" + num(y1) + "\" x2=\"" + num(x2) + "\" y2=\"" +
           num(y2) + "\"/>";
  }
  static std::string text(double x, double y, const std::string& t, const char* anchor) {
    return "<text x=\"" + num(x) + "\" y=\"" + num(y) + "\" text-anchor=\"" + anchor +
           "\" stroke=\"none\">" + t + "</text>";
  }
  std::string id_, x_label_, y_label_;
  std::vector<series> series_;
  double x_max_ = 0, y_max_ = 0, y_fixed_ = 0;
};

// Virtual time in hours for runs longer than three hours, else in minutes.
struct time_axis {
  double scale;
  const char* label;
  explicit time_axis(double seconds)
      : scale(seconds > 3 * 3600 ? 3600.0 : 60.0),
        label(seconds > 3 * 3600 ? "virtual time (h)" : "virtual time (min)") {}
};

}  // namespace html_detail

inline std::string render_html(const html_input& in) {
  using namespace html_detail;
  double duration = 1;
  for (const auto& r : in.runs)
    duration = std::max(duration, r.virtual_seconds);
  const time_axis ta(duration);

  std::string body;
  // 1. Ready-time CDF.
  svg_chart cdf("ready-cdf", "seconds from start to ready", "fraction of nodes ready");
  cdf.fix_y_max(1.0);
  for (const auto& [strategy, seconds] : in.ready_seconds) {
    auto v = seconds;
    std::sort(v.begin(), v.end());
    std::vector<std::pair<double, double>> pts{{0, 0}};
    auto total = in.nodes.find(strategy);
    const double n = static_cast<double>(
        std::max(v.size(), total == in.nodes.end() ? std::size_t{0} : total->second));
    for (std::size_t i = 0; i < v.size(); ++i) {
      pts.emplace_back(v[i], static_cast<double>(i) / n);
      pts.emplace_back(v[i], static_cast<double>(i + 1) / n);
    }
    cdf.add(strategy, std::move(pts));
  }
  body += "<h2>Ready time</h2><p>Start of each daemon to its first ready" +
          (in.ready_note.empty() ? std::string() : " (" + escape(in.ready_note) + ")") +
          "; a node never ready keeps the curve below 1.</p>\n" + cdf.render();

  // 2. Occupancy against the quota, 3. leases held.
  svg_chart occupancy("occupancy", ta.label, "custom entries in the system table");
  svg_chart leases("leases", ta.label, "leases held / nodes ready");
  for (const auto& r : in.runs) {
    std::vector<std::pair<double, double>> entries, held, ready;
    for (const auto& m : r.samples) {
      entries.emplace_back(m.t_s / ta.scale, m.table_entries);
      held.emplace_back(m.t_s / ta.scale, m.leases);
      ready.emplace_back(m.t_s / ta.scale, m.ready);
    }
    occupancy.add(r.strategy, std::move(entries));
    leases.add(r.strategy, std::move(held));
    leases.add(r.strategy + " ready", std::move(ready), true);
  }
  if (!in.runs.empty() && in.runs.front().quota > 0)
    occupancy.add("quota",
                  {{0, in.runs.front().quota}, {duration / ta.scale, in.runs.front().quota}}, true);
  body += "<h2>Route table occupancy</h2><p>Custom entries against the quota.</p>\n" +
          occupancy.render();
  body += "<h2>Leases</h2><p>Subnet leases etcd holds (solid) and nodes ready (dashed).</p>\n" +
          leases.render();

  // 4. API calls per minute by outcome, one chart per strategy.
  body +=
      "<h2>API calls per minute</h2><p>By outcome: success, conflict (the VPC's one writer "
      "is busy), throttled, other errors.</p>\n";
  for (const auto& r : in.runs) {
    svg_chart calls("calls-" + r.strategy, ta.label, r.strategy + ": calls per minute");
    std::map<std::string, std::vector<std::pair<double, double>>> by;
    for (const auto& m : r.samples) {
      const double t = m.t_s / ta.scale;
      by["success"].emplace_back(t, m.success);
      by["conflict"].emplace_back(t, m.conflict);
      by["throttled"].emplace_back(t, m.throttled);
      by["error"].emplace_back(t, m.error);
    }
    for (const char* o : {"success", "conflict", "throttled", "error"})
      calls.add(o, std::move(by[o]));
    body += calls.render();
  }

  // 5. Violations and liveness failures.
  body += "<h2>Safety violations and liveness failures</h2>\n";
  if (in.timeline.empty()) {
    body +=
        "<p id=\"no-violations\">None: every safety invariant held and every running node "
        "converged.</p>\n";
  } else {
    double t_max = 1;
    for (const auto& e : in.timeline)
      t_max = std::max(t_max, e.event.t_s);
    const time_axis tl(t_max);
    std::string marks;
    for (const auto& e : in.timeline) {
      const double x = 56 + 788 * (e.event.t_s / t_max);
      marks += "<circle data-event=\"" + e.event.kind + "\" cx=\"" + num(x) + "\" cy=\"" +
               (e.event.kind == "safety" ? "20" : "40") + "\" r=\"5\" fill=\"" +
               (e.event.kind == "safety" ? "#d62728" : "#ff7f0e") + "\"><title>" +
               escape(e.strategy + " seed " + std::to_string(e.seed) + ": " + e.event.what) +
               "</title></circle>";
    }
    body +=
        "<svg class=\"chart\" id=\"timeline\" width=\"860\" height=\"70\" "
        "xmlns=\"http://www.w3.org/2000/svg\"><line x1=\"56\" y1=\"50\" x2=\"844\" y2=\"50\" "
        "stroke=\"#999\"/><text x=\"56\" y=\"66\" font-size=\"11\">0</text><text x=\"844\" "
        "y=\"66\" font-size=\"11\" text-anchor=\"end\">" +
        fixed(t_max / tl.scale) + " " + (tl.scale == 60 ? "min" : "h") + "</text>" + marks +
        "</svg>\n<table><tr><th>strategy</th><th>seed</th><th>t</th><th>kind</th><th>what</th>"
        "<th>replay</th></tr>\n";
    for (const auto& e : in.timeline)
      body += "<tr class=\"event\"><td>" + escape(e.strategy) + "</td><td>" +
              std::to_string(e.seed) + "</td><td>" + fixed(e.event.t_s, 0) + " s</td><td>" +
              escape(e.event.kind) + "</td><td>" + escape(e.event.what) +
              "</td><td><code>alivpc-simulate --scenario " + escape(in.scenario_path) +
              " --strategy " + escape(e.strategy) + " --seed " + std::to_string(e.seed) +
              "</code></td></tr>\n";
    body += "</table>\n";
  }

  // The summary table.
  std::string summary =
      "<table><tr><th>strategy</th><th>seed</th><th>nodes</th><th>ready p50 / p95 / max "
      "(s)</th><th>never ready</th><th>restarts</th><th>API calls per join</th><th>safety "
      "violations</th><th>converged</th></tr>\n";
  for (const auto& r : in.runs)
    summary += "<tr><td>" + escape(r.strategy) + "</td><td>" + std::to_string(r.seed) +
               "</td><td>" + std::to_string(r.nodes) + "</td><td>" +
               fixed(scenario_report::percentile(r.ready_seconds, 0.5)) + " / " +
               fixed(scenario_report::percentile(r.ready_seconds, 0.95)) + " / " +
               fixed(scenario_report::percentile(r.ready_seconds, 1.0)) + "</td><td>" +
               std::to_string(r.never_ready) + "</td><td>" +
               std::to_string(std::accumulate(r.restarts.begin(), r.restarts.end(), 0)) +
               "</td><td>" + fixed(r.api_calls_per_join()) + "</td><td>" +
               std::to_string(r.safety_violation_count) + "</td><td>" + (r.live ? "yes" : "no") +
               "</td></tr>\n";
  summary += "</table>\n";

  return "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>alivpc "
         "simulation: " +
         escape(in.title) +
         "</title>\n<style>body{font-family:sans-serif;margin:24px;max-width:900px;color:#222}"
         "table{border-collapse:collapse;margin:8px 0 16px;font-size:13px}td,th{border:1px solid "
         "#ccc;padding:3px 8px;text-align:left}h2{font-size:17px;margin-top:28px}"
         ".chart{display:block;margin:6px 0}code{font-size:12px}</style></head>\n<body>\n<h1>"
         "alivpc simulation: " +
         escape(in.title) + "</h1>\n" + summary + body +
         "<script>\n// What the browser drew: each series' rendered box (read by the tests).\n"
         "const drawn = {};\n"
         "for (const e of document.querySelectorAll('[data-series]')) {\n"
         "  const b = e.getBBox();\n"
         "  drawn[e.dataset.series] = {x: b.x, y: b.y, width: b.width, height: b.height, "
         "points: Number(e.dataset.points)};\n}\n"
         "document.body.dataset.rendered = JSON.stringify(drawn);\n</script>\n</body></html>\n";
}

}  // namespace alivpc::sim
