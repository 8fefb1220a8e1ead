// alivpc-simulate's text output: a run or a sweep per strategy, then the strategies side by
// side, in lines that fit an 80-column terminal. Facts come in short lines; a message the run
// carries (a liveness detail, a daemon's last error, a safety violation) can be of any length and
// is wrapped at spaces under its label, and a word longer than the room is cut, so no line is ever
// wider than `text_width`. Nothing is dropped: the words of every line joined again are the
// message.
#pragma once

#include <alivpc/sim/scenario_report.hpp>
#include <alivpc/sim/seed_sweep.hpp>

#include <nlohmann/json.hpp>

#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>
#include <vector>

namespace alivpc::sim {

inline constexpr std::size_t text_width = 80;

// "5.0 h" under a day, "3.5 d" from one.
inline std::string hours_or_days(double seconds) {
  char buf[32];
  if (seconds >= 86400)
    std::snprintf(buf, sizeof buf, "%.1f d", seconds / 86400);
  else
    std::snprintf(buf, sizeof buf, "%.1f h", seconds / 3600);
  return buf;
}

// `text` after `first` on the first line and after `next` (usually spaces as wide) on the rest,
// each line at most `width` columns, ending in a newline.
inline std::string wrap_text(std::string_view text, std::string_view first, std::string_view next,
                             std::size_t width = text_width) {
  constexpr std::string_view blank = " \t\r\n";  // a message's own line breaks are spaces here
  std::string out(first);
  std::size_t column = first.size();
  bool line_empty = true;
  while (!text.empty()) {
    const auto start = text.find_first_not_of(blank);
    if (start == std::string_view::npos) break;
    text.remove_prefix(start);
    auto word = text.substr(0, text.find_first_of(blank));
    text.remove_prefix(word.size());
    while (!word.empty()) {
      const std::size_t used = column + (line_empty ? 0 : 1);
      // A prefix as wide as the line still gets a character a line, so this always ends.
      const std::size_t room = used < width ? width - used : (line_empty ? 1 : 0);
      if (word.size() <= room || (line_empty && room > 0)) {
        auto part = word.substr(0, room);
        if (!line_empty) out += ' ';
        out += part;
        column += part.size() + (line_empty ? 0 : 1);
        line_empty = false;
        word.remove_prefix(part.size());
        if (word.empty()) break;
      }
      out += '\n';
      out += next;
      column = next.size();
      line_empty = true;
    }
  }
  out += '\n';
  return out;
}

namespace detail {
inline std::string printed(const char* format, auto... values) {
  char buf[256];
  std::snprintf(buf, sizeof buf, format, values...);
  return buf;
}
inline constexpr std::string_view indent = "         ";  // under the strategy's name
inline constexpr std::string_view message_indent = "           ";
// `text` after `label` on a line of its own, under the strategy's name.
inline std::string labelled(std::string_view label, std::string_view text,
                            std::string_view next = message_indent) {
  return wrap_text(text, std::string(indent) + std::string(label), next);
}
// A figure in at most `width` columns: one decimal while it fits, then none, then thousands.
inline std::string figure(double v, int width) {
  for (const char* format : {"%.1f", "%.0f"}) {
    auto text = printed(format, v);
    if (static_cast<int>(text.size()) <= width) return text;
  }
  return printed("%.0fk", v / 1000);
}
}  // namespace detail

// Five or six short lines per strategy, then the run's messages.
inline std::string run_text(const scenario_report& r, double wall_seconds) {
  using detail::indent;
  using detail::printed;
  using ull = unsigned long long;
  const auto j = r.to_json();
  std::uint64_t failed = 0;
  for (auto& [action, outcomes] : r.api_calls)
    for (auto& [outcome, n] : outcomes)
      if (outcome != "Success") failed += n;
  std::string out;
  auto line = [&](const std::string& text) { out += wrap_text(text, indent, indent); };
  out += wrap_text(printed("%d nodes, %s virtual in %.2f wall s (%llu events)", r.nodes,
                           hours_or_days(r.virtual_seconds).c_str(), wall_seconds,
                           static_cast<ull>(r.events_executed)),
                   printed("%-8s ", r.strategy.c_str()), indent);
  line(printed("ready p50 %.1f s, p95 %.1f s, max %.1f s; never ready %d",
               j["ready_p50_s"].get<double>(), j["ready_p95_s"].get<double>(),
               j["ready_max_s"].get<double>(), r.never_ready));
  line(printed("exits %d, restarts %d; api calls %llu (%.1f per join, %llu failed)", r.fatal_exits,
               j["restarts_total"].get<int>(), static_cast<ull>(r.api_calls_total()),
               r.api_calls_per_join(), static_cast<ull>(failed)));
  line(printed("safety %s, misrouted %llu node-s; converged %s", r.safe() ? "ok" : "VIOLATED",
               static_cast<ull>(r.misrouted_node_seconds), r.live ? "yes" : "no"));
  const std::string full =
      r.table_full_at_s < 0 ? "" : " (full at " + hours_or_days(r.table_full_at_s) + ")";
  line(printed("table peak %d of quota %d%s, final %d; stale routes %d", r.table_entries_peak,
               r.quota, full.c_str(), r.table_entries_final, r.stale_routes));
  if (r.joins || r.leaves)
    line(printed("churn: %d joins, %d leaves; %d left before they were ever ready", r.joins,
                 r.leaves, r.left_never_ready));
  if (!r.live) out += detail::labelled("liveness: ", r.liveness_detail);
  for (auto& v : r.safety_violations)
    out += detail::labelled("safety: ", v);
  for (auto& f : r.fatal_messages)
    out += detail::labelled("fatal: ", f);
  return out;
}

// A sweep: the distributions over the seeds, the counts, the worst seeds and how to replay one.
// `j` is the sweep's JSON (sweep.to_json()), `path` the scenario file as given.
inline std::string sweep_text(const seed_sweep& w, const nlohmann::json& j, const std::string& path,
                              double wall_seconds) {
  using detail::indent;
  using detail::printed;
  using ull = unsigned long long;
  auto spread = [&](const char* field) {
    return printed("p50 %.1f, p95 %.1f, max %.1f", j[field]["p50"].get<double>(),
                   j[field]["p95"].get<double>(), j[field]["max"].get<double>());
  };
  std::string out;
  auto line = [&](const std::string& text) { out += wrap_text(text, indent, indent); };
  out += wrap_text(printed("%llu seeds (%llu..%llu) in %.1f wall s",
                           static_cast<ull>(w.seeds.count), static_cast<ull>(w.seeds.first),
                           static_cast<ull>(w.seeds.first + w.seeds.count - 1), wall_seconds),
                   printed("%-8s ", w.strategy.c_str()), indent);
  out += detail::labelled("ready p95 per seed (s): ", spread("ready_p95_s"), indent);
  out += detail::labelled("api calls per join:     ", spread("api_calls_per_join"), indent);
  out += detail::labelled("restarts per seed:      ", spread("restarts_total"), indent);
  line(printed("safety violations %llu (in %llu seeds); not converged: %llu seeds",
               j["safety_violations"].get<ull>(), j["seeds_with_violations"].get<ull>(),
               j["seeds_not_live"].get<ull>()));
  line(printed("never ready %llu nodes (in %llu seeds); exits %llu",
               j["never_ready"]["nodes"].get<ull>(), j["never_ready"]["seeds"].get<ull>(),
               j["fatal_exits"].get<ull>()));
  line("worst seeds:");
  for (auto& s : j["worst_seeds"])
    out +=
        wrap_text(s["why"].get<std::string>(),
                  std::string(detail::message_indent) + std::to_string(s["seed"].get<ull>()) + ": ",
                  std::string(detail::message_indent) + "  ");
  const ull worst = j["worst_seeds"].empty() ? 0ull : j["worst_seeds"][0]["seed"].get<ull>();
  out += detail::labelled("replay one: ", "alivpc-simulate --scenario " + path + " --strategy " +
                                              w.strategy + " --seed " + std::to_string(worst));
  return out;
}

// The strategies side by side, one row each, from their JSON reports (`--strategy all` or
// `both`): a run's or a sweep's (then the ready p95 is its distribution over the seeds). Two
// header lines in the rows' own format; no row is wider than 80 columns.
inline std::string comparison_text(const std::vector<nlohmann::json>& reports) {
  using detail::figure;
  if (reports.empty()) return "";
  const bool sweep = reports.front()["ready_p95_s"].is_object();
  const char* format =
      sweep ? "%-8s  %7s %7s %7s  %9s  %10s  %9s  %11s" : "%-8s  %9s %7s %7s  %10s  %10s  %7s  %9s";
  auto row = [&](auto... cells) {
    auto line = detail::printed(format, cells...);
    line.erase(line.find_last_not_of(' ') + 1);
    return line + "\n";
  };
  auto at = [](const nlohmann::json& j, int width) { return figure(j.get<double>(), width); };
  auto count = [](const nlohmann::json& j) { return std::to_string(j.get<std::uint64_t>()); };
  std::string out = sweep ? row("", "ready", "p95 per", "seed, s", "calls per", "seeds with",
                                "seeds not", "nodes never") +
                                row("strategy", "p50", "p95", "max", "join, p50", "violations",
                                    "converged", "ready")
                          : row("", "ready (s)", "", "", "api calls", "safety", "daemons", "") +
                                row("strategy", "p50", "p95", "max", "per join", "violations",
                                    "exited", "converged");
  for (const auto& j : reports) {
    const auto strategy = j["strategy"].get<std::string>();
    if (sweep) {
      const auto& r = j["ready_p95_s"];
      out += row(strategy.c_str(), at(r["p50"], 7).c_str(), at(r["p95"], 7).c_str(),
                 at(r["max"], 7).c_str(), at(j["api_calls_per_join"]["p50"], 9).c_str(),
                 count(j["seeds_with_violations"]).c_str(), count(j["seeds_not_live"]).c_str(),
                 count(j["never_ready"]["nodes"]).c_str());
    } else {
      out += row(strategy.c_str(), at(j["ready_p50_s"], 9).c_str(), at(j["ready_p95_s"], 7).c_str(),
                 at(j["ready_max_s"], 7).c_str(), at(j["api_calls_per_join"], 10).c_str(),
                 count(j["safety_violations"]).c_str(), count(j["fatal_exits"]).c_str(),
                 j["live"].get<bool>() ? "yes" : "no");
    }
  }
  return out;
}

}  // namespace alivpc::sim
