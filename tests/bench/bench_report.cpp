#include "bench_report.hpp"

#include <fmt/core.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <chrono>
#include <cstdio>

namespace chatbench {
namespace {

double seconds_of(Clock::duration elapsed) {
  return std::chrono::duration<double>(elapsed).count();
}

double per_second(std::uint64_t count, Clock::duration elapsed) {
  const double seconds = seconds_of(elapsed);
  return seconds > 0 ? static_cast<double>(count) / seconds : 0;
}

double micros(std::chrono::nanoseconds value) {
  return static_cast<double>(value.count()) / 1e3;
}

double cpu_per_request_us(std::chrono::microseconds cpu, const BenchReport& report) {
  const std::uint64_t requests = report.measured.replies;
  return requests == 0 ? 0 : static_cast<double>(cpu.count()) / static_cast<double>(requests);
}

std::string json_line(const BenchReport& report) {
  const Options& o = report.options;
  const PhaseResult& m = report.measured;
  rapidjson::StringBuffer buffer;
  rapidjson::Writer<rapidjson::StringBuffer> json(buffer);
  json.StartObject();
  json.Key("bench");
  json.String(workload_name(o.workload));
  json.Key("target");
  json.String(o.label.empty() ? (o.redis ? "redis" : "realmchat") : o.label.c_str());
  json.Key("connections");
  json.Uint64(o.connections);
  json.Key("pipeline");
  json.Uint64(o.pipeline);
  json.Key("size");
  json.Uint64(o.message_size);
  json.Key("tls");
  json.Bool(o.tls);
  json.Key("seconds");
  json.Double(seconds_of(m.elapsed));
  json.Key("requests");
  json.Uint64(m.replies);
  json.Key("requests_per_s");
  json.Double(per_second(m.replies, m.elapsed));
  if (report.deliveries) {
    json.Key("deliveries");
    json.Uint64(*report.deliveries);
    json.Key("deliveries_per_s");
    json.Double(per_second(*report.deliveries, m.elapsed));
  }
  json.Key("p50_us");
  json.Double(micros(m.latency.percentile(0.50)));
  json.Key("p99_us");
  json.Double(micros(m.latency.percentile(0.99)));
  json.Key("p999_us");
  json.Double(micros(m.latency.percentile(0.999)));
  json.Key("max_us");
  json.Double(micros(m.latency.max()));
  json.Key("errors");
  json.Uint64(m.errors);
  json.Key("first_error");
  json.String(m.first_error.c_str());
  if (report.server_rss_kb) {
    json.Key("server_rss_kb");
    json.Uint64(*report.server_rss_kb);
  }
  if (report.server_cpu) {
    json.Key("server_cpu_s");
    json.Double(seconds_of(*report.server_cpu));
    json.Key("server_cpu_us_per_request");
    json.Double(cpu_per_request_us(*report.server_cpu, report));
  }
  if (report.path_cpu) {
    json.Key("path_cpu_s");
    json.Double(seconds_of(*report.path_cpu));
    json.Key("path_cpu_us_per_request");
    json.Double(cpu_per_request_us(*report.path_cpu, report));
  }
  json.Key("client_cpu_s");
  json.Double(seconds_of(report.client_cpu));
  json.Key("client_cpu_us_per_request");
  json.Double(cpu_per_request_us(report.client_cpu, report));
  if (report.answering) {
    json.Key("answering");
    json.Uint64(*report.answering);
  }
  json.EndObject();
  return buffer.GetString();
}

}  // namespace

void print_report(const BenchReport& report) {
  const Options& o = report.options;
  const PhaseResult& m = report.measured;
  fmt::print(
      "{} against {}{}: {} connections, pipeline {}, {}-byte messages, {:.2f} s\n",
      workload_name(o.workload), o.label.empty() ? (o.redis ? "redis" : "realmchat") : o.label,
      o.tls ? " over TLS" : "", o.connections, o.pipeline, o.message_size, seconds_of(m.elapsed));
  fmt::print("  requests     {:>12}  {:>12.0f} /s\n", m.replies, per_second(m.replies, m.elapsed));
  if (report.deliveries) {
    fmt::print("  deliveries   {:>12}  {:>12.0f} /s\n", *report.deliveries,
               per_second(*report.deliveries, m.elapsed));
  }
  fmt::print("  latency us   p50 {:.1f}  p99 {:.1f}  p999 {:.1f}  max {:.1f}\n",
             micros(m.latency.percentile(0.50)), micros(m.latency.percentile(0.99)),
             micros(m.latency.percentile(0.999)), micros(m.latency.max()));
  fmt::print("  errors       {:>12}{}{}\n", m.errors,
             m.first_error.empty() ? "" : "  first: ", m.first_error);
  if (report.answering) fmt::print("  answering    {:>12}\n", *report.answering);
  if (report.server_rss_kb) {
    fmt::print("  server RSS   {:>12.1f} MiB\n", static_cast<double>(*report.server_rss_kb) / 1024);
  }
  if (report.server_cpu) {
    fmt::print("  server CPU   {:>12.2f} s  {:>12.2f} us/request\n", seconds_of(*report.server_cpu),
               cpu_per_request_us(*report.server_cpu, report));
  }
  if (report.path_cpu) {
    fmt::print("  path CPU     {:>12.2f} s  {:>12.2f} us/request (the other realms on the way)\n",
               seconds_of(*report.path_cpu), cpu_per_request_us(*report.path_cpu, report));
  }
  fmt::print("  client CPU   {:>12.2f} s  {:>12.2f} us/request\n", seconds_of(report.client_cpu),
             cpu_per_request_us(report.client_cpu, report));
  if (!report.note.empty()) fmt::print("  note: {}\n", report.note);
  fmt::print("{}\n", json_line(report));
  std::fflush(stdout);
}

}  // namespace chatbench
