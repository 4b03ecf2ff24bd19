#include "metrics/registry.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <cmath>
#include <functional>
#include <limits>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "metrics/scoped_timer.hpp"
#include "tests/support/process.hpp"

namespace herald::metrics {
namespace {

// Runs `declare` and expects std::invalid_argument whose message names `metric`,
// so whoever mistypes a name learns which declaration to fix.
void ExpectRejected(const std::function<void()>& declare, const std::string& metric) {
  try {
    declare();
    ADD_FAILURE() << "declaration of " << metric << " was accepted";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find(metric), std::string::npos) << e.what();
  }
}

TEST(Registry, RendersCounterWithHelpAndType) {
  Registry registry;
  Counter& sent = registry.AddCounter("herald_messages_sent_total", "Messages accepted by a provider.");
  sent.Increment();
  sent.Increment(2);
  EXPECT_EQ(registry.Render(),
            "# HELP herald_messages_sent_total Messages accepted by a provider.\n"
            "# TYPE herald_messages_sent_total counter\n"
            "herald_messages_sent_total 3\n");
}

TEST(Registry, RendersLabelledChildrenSortedByLabelValues) {
  Registry registry;
  CounterFamily& requests =
      registry.AddCounterFamily("herald_http_requests_total", "HTTP requests.", {"method", "route", "code"});
  requests.WithLabels({"POST", "/api/v1/messages", "202"}).Increment(5);
  requests.WithLabels({"GET", "/healthz", "200"}).Increment();
  EXPECT_EQ(registry.Render(),
            "# HELP herald_http_requests_total HTTP requests.\n"
            "# TYPE herald_http_requests_total counter\n"
            "herald_http_requests_total{method=\"GET\",route=\"/healthz\",code=\"200\"} 1\n"
            "herald_http_requests_total{method=\"POST\",route=\"/api/v1/messages\",code=\"202\"} 5\n");
}

TEST(Registry, RendersGaugeValuesAndSpecialValues) {
  Registry registry;
  Gauge& open = registry.AddGauge("herald_smtp_connections", "Open SMTP connections.");
  open.Increment(3);
  open.Decrement();
  GaugeFamily& lag = registry.AddGaugeFamily("herald_lag_seconds", "Lag per lane.", {"lane"});
  lag.WithLabels({"a"}).Set(-0.25);
  lag.WithLabels({"b"}).Set(std::numeric_limits<double>::infinity());
  lag.WithLabels({"c"}).Set(std::nan(""));
  lag.WithLabels({"d"}).Set(1e-7);
  lag.WithLabels({"e"}).Set(1e-9);
  lag.WithLabels({"f"}).Set(1.5e9);
  EXPECT_EQ(registry.Render(),
            "# HELP herald_smtp_connections Open SMTP connections.\n"
            "# TYPE herald_smtp_connections gauge\n"
            "herald_smtp_connections 2\n"
            "# HELP herald_lag_seconds Lag per lane.\n"
            "# TYPE herald_lag_seconds gauge\n"
            "herald_lag_seconds{lane=\"a\"} -0.25\n"
            "herald_lag_seconds{lane=\"b\"} +Inf\n"
            "herald_lag_seconds{lane=\"c\"} NaN\n"
            "herald_lag_seconds{lane=\"d\"} 0.0000001\n"
            "herald_lag_seconds{lane=\"e\"} 1e-09\n"
            "herald_lag_seconds{lane=\"f\"} 1500000000\n");
}

TEST(Registry, HistogramBucketsAreCumulativeWithInfSumAndCount) {
  Registry registry;
  Histogram& latency = registry.AddHistogram("herald_send_seconds", "Send time.", {0.1, 1, 10});
  for (const double v : {0.05, 0.1, 0.5, 5.0, 50.0}) latency.Observe(v);  // 0.1 is "le", so in the first bucket
  EXPECT_EQ(registry.Render(),
            "# HELP herald_send_seconds Send time.\n"
            "# TYPE herald_send_seconds histogram\n"
            "herald_send_seconds_bucket{le=\"0.1\"} 2\n"
            "herald_send_seconds_bucket{le=\"1\"} 3\n"
            "herald_send_seconds_bucket{le=\"10\"} 4\n"
            "herald_send_seconds_bucket{le=\"+Inf\"} 5\n"
            "herald_send_seconds_sum 55.65\n"
            "herald_send_seconds_count 5\n");
}

TEST(Registry, HistogramFamilyPutsLeAfterTheDeclaredLabels) {
  Registry registry;
  HistogramFamily& latency = registry.AddHistogramFamily("herald_attempt_seconds", "Attempt time.", {"channel"}, {1});
  latency.WithLabels({"smtp"}).Observe(2);
  EXPECT_EQ(registry.Render(),
            "# HELP herald_attempt_seconds Attempt time.\n"
            "# TYPE herald_attempt_seconds histogram\n"
            "herald_attempt_seconds_bucket{channel=\"smtp\",le=\"1\"} 0\n"
            "herald_attempt_seconds_bucket{channel=\"smtp\",le=\"+Inf\"} 1\n"
            "herald_attempt_seconds_sum{channel=\"smtp\"} 2\n"
            "herald_attempt_seconds_count{channel=\"smtp\"} 1\n");
}

TEST(Registry, EscapesLabelValuesAndHelp) {
  Registry registry;
  CounterFamily& errors =
      registry.AddCounterFamily("herald_errors_total", "Errors by \"reason\".\nOne line \\ per reason.", {"reason"});
  errors.WithLabels({"say \"hi\"\\now\nnext"}).Increment();
  errors.WithLabels({"caf\xC3\xA9 bad\xFF"}).Increment();  // é kept, the stray byte replaced
  EXPECT_EQ(registry.Render(),
            "# HELP herald_errors_total Errors by \"reason\".\\nOne line \\\\ per reason.\n"
            "# TYPE herald_errors_total counter\n"
            "herald_errors_total{reason=\"caf\xC3\xA9 bad\xEF\xBF\xBD\"} 1\n"
            "herald_errors_total{reason=\"say \\\"hi\\\"\\\\now\\nnext\"} 1\n");
}

TEST(Registry, CallbackGaugesAreReadAtRenderTime) {
  Registry registry;
  double depth = 4;
  registry.AddCallbackGauge("herald_outbox_messages", "Messages waiting.", [&] { return depth; });
  registry.AddCallbackGaugeFamily("herald_lane_messages", "Messages per lane.", {"lane"}, [] {
    return std::vector<LabeledValue>{{{"tenant-b"}, 2}, {{"tenant-a"}, 7}};
  });
  depth = 9;
  EXPECT_EQ(registry.Render(),
            "# HELP herald_outbox_messages Messages waiting.\n"
            "# TYPE herald_outbox_messages gauge\n"
            "herald_outbox_messages 9\n"
            "# HELP herald_lane_messages Messages per lane.\n"
            "# TYPE herald_lane_messages gauge\n"
            "herald_lane_messages{lane=\"tenant-a\"} 7\n"
            "herald_lane_messages{lane=\"tenant-b\"} 2\n");
}

TEST(Registry, CallbackReturningWrongLabelsFailsRender) {
  Registry wrong_count;
  wrong_count.AddCallbackGaugeFamily("herald_lane_messages", "Per lane.", {"lane"},
                                     [] { return std::vector<LabeledValue>{{{"a", "b"}, 1}}; });
  EXPECT_THROW(wrong_count.Render(), std::logic_error);
  Registry duplicate;
  duplicate.AddCallbackGaugeFamily("herald_lane_messages", "Per lane.", {"lane"},
                                   [] { return std::vector<LabeledValue>{{{"a"}, 1}, {{"a"}, 2}}; });
  EXPECT_THROW(duplicate.Render(), std::logic_error);
}

TEST(Registry, WithLabelsReturnsTheSameChildEveryTime) {
  Registry registry;
  CounterFamily& family = registry.AddCounterFamily("herald_x_total", "X.", {"a", "b"});
  Counter& first = family.WithLabels({"1", "2"});
  EXPECT_EQ(&first, &family.WithLabels(std::vector<std::string>{"1", "2"}));
  EXPECT_NE(&first, &family.WithLabels({"2", "1"}));
  EXPECT_THROW(family.WithLabels({"1"}), std::invalid_argument);
  EXPECT_THROW(family.WithLabels({"1", "2", "3"}), std::invalid_argument);
}

TEST(Registry, ConcurrentUpdatesGiveExactTotals) {
  Registry registry;
  Counter& counter = registry.AddCounter("herald_events_total", "Events.");
  CounterFamily& per_lane = registry.AddCounterFamily("herald_lane_events_total", "Events per lane.", {"lane"});
  Gauge& gauge = registry.AddGauge("herald_in_flight", "In flight.");
  Histogram& histogram = registry.AddHistogram("herald_work_seconds", "Work.", {0.5});
  constexpr int kThreads = 4;
  constexpr int kPerThread = 50000;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        counter.Increment();
        // Every thread creates and looks up the same children concurrently.
        per_lane.WithLabels({std::to_string(i % 8)}).Increment();
        gauge.Increment(t % 2 == 0 ? 1 : 0.5);
        histogram.Observe(i % 2 == 0 ? 0.25 : 1.0);
        if (i % 5000 == 0) (void)registry.Render();
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  EXPECT_EQ(counter.Value(), std::uint64_t{kThreads} * kPerThread);
  for (int lane = 0; lane < 8; ++lane) {
    EXPECT_EQ(per_lane.WithLabels({std::to_string(lane)}).Value(), std::uint64_t{kThreads} * kPerThread / 8);
  }
  EXPECT_EQ(gauge.Value(), kPerThread * (2 * 1.0 + 2 * 0.5));
  const HistogramSnapshot snapshot = histogram.Snapshot();
  EXPECT_EQ(snapshot.count, std::uint64_t{kThreads} * kPerThread);
  EXPECT_EQ(snapshot.cumulative_counts.front(), snapshot.count / 2);
  EXPECT_EQ(snapshot.sum, kThreads * (kPerThread / 2) * (0.25 + 1.0));  // exact: all partial sums are representable
}

TEST(Registry, RejectsInvalidDeclarations) {
  Registry registry;
  for (const std::string bad : {"", "1st_total", "has-dash_total", "has space", "caf\xC3\xA9"}) {
    ExpectRejected([&] { registry.AddCounter(bad, "Help."); }, "\"" + bad + "\"");
  }
  ExpectRejected([&] { registry.AddCounterFamily("herald_a_total", "Help.", {"__reserved"}); }, "herald_a_total");
  ExpectRejected([&] { registry.AddCounterFamily("herald_b_total", "Help.", {"bad-label"}); }, "herald_b_total");
  ExpectRejected([&] { registry.AddGaugeFamily("herald_c", "Help.", {"9lives"}); }, "herald_c");
  ExpectRejected([&] { registry.AddGaugeFamily("herald_d", "Help.", {"lane", "lane"}); }, "herald_d");
  ExpectRejected([&] { registry.AddGauge("herald_e", ""); }, "herald_e");
  ExpectRejected([&] { registry.AddHistogramFamily("herald_f_seconds", "Help.", {"le"}); }, "herald_f_seconds");
  ExpectRejected([&] { registry.AddHistogram("herald_g_seconds", "Help.", {1, 1}); }, "herald_g_seconds");
  ExpectRejected([&] { registry.AddHistogram("herald_h_seconds", "Help.", {2, 1}); }, "herald_h_seconds");
  ExpectRejected([&] { registry.AddHistogram("herald_i_seconds", "Help.", {1, std::nan("")}); }, "herald_i_seconds");
  ExpectRejected([&] { registry.AddHistogram("herald_j_seconds", "Help.", {1, INFINITY}); }, "herald_j_seconds");
  ExpectRejected([&] { registry.AddCallbackGauge("herald_k", "Help.", nullptr); }, "herald_k");

  registry.AddCounter("herald_once_total", "Help.");
  ExpectRejected([&] { registry.AddCounter("herald_once_total", "Help."); }, "herald_once_total");
  registry.AddHistogram("herald_wait_seconds", "Help.");
  ExpectRejected([&] { registry.AddGauge("herald_wait_seconds_count", "Help."); }, "herald_wait_seconds_count");
  // Rejected declarations leave nothing behind.
  EXPECT_EQ(registry.Render().find("herald_a_total"), std::string::npos);
}

TEST(Registry, AcceptsNamesTheFormatAllows) {
  Registry registry;
  EXPECT_NO_THROW(registry.AddCounter("_private:rule_total", "Help."));
  EXPECT_NO_THROW(registry.AddGaugeFamily("herald_z", "Help.", {"_x", "A9"}));
  EXPECT_NO_THROW(registry.AddHistogram("herald_only_inf_seconds", "Help.", {}));
}

TEST(Histogram, DefaultBucketsSpanRequestDurations) {
  const std::vector<double> bounds = DefaultDurationBuckets();
  EXPECT_NO_THROW(ValidateBucketBounds("default", bounds));
  EXPECT_EQ(bounds.front(), 0.0005);
  EXPECT_EQ(bounds.back(), 10);
  Registry registry;
  registry.AddHistogram("herald_default_seconds", "Help.");
  const std::string text = registry.Render();
  // Bounds written as declared, so a query on le="0.0005" matches.
  EXPECT_NE(text.find("herald_default_seconds_bucket{le=\"0.0005\"} 0\n"), std::string::npos) << text;
  EXPECT_NE(text.find("herald_default_seconds_bucket{le=\"2.5\"} 0\n"), std::string::npos) << text;
}

TEST(Histogram, NanGoesToInfBucket) {
  Histogram histogram({1});
  histogram.Observe(std::nan(""));
  const HistogramSnapshot snapshot = histogram.Snapshot();
  EXPECT_EQ(snapshot.cumulative_counts, (std::vector<std::uint64_t>{0, 1}));
  EXPECT_TRUE(std::isnan(snapshot.sum));
}

TEST(ScopedTimer, ObservesElapsedSecondsOnce) {
  Histogram histogram(DefaultDurationBuckets());
  { ScopedTimer timer(histogram); }
  double stopped = 0;
  {
    ScopedTimer timer(histogram);
    stopped = timer.Stop();
    timer.Stop();
  }
  {
    ScopedTimer timer(histogram);
    timer.Cancel();
  }
  const HistogramSnapshot snapshot = histogram.Snapshot();
  EXPECT_EQ(snapshot.count, 2u);
  EXPECT_GE(stopped, 0);
  EXPECT_GE(snapshot.sum, stopped);
  EXPECT_LT(snapshot.sum, 60);  // seconds, not milliseconds or nanoseconds
}

// promtool parses the text with Prometheus's own parser and lints the names, so
// this catches what hand-written expectations above could get wrong together.
TEST(Registry, PromtoolAcceptsEveryMetricType) {
  Registry registry;
  registry.AddCounter("herald_messages_sent_total", "Messages accepted by a provider.").Increment(12);
  CounterFamily& requests = registry.AddCounterFamily("herald_http_requests_total", "HTTP requests by route.",
                                                      {"method", "route", "code"});
  requests.WithLabels({"POST", "/api/v1/messages", "202"}).Increment();
  requests.WithLabels({"GET", "/a \"quoted\"\\path\nwith newline", "404"}).Increment();
  registry.AddCounterFamily("herald_never_used_total", "A family with no children yet.", {"lane"});
  registry.AddGauge("herald_smtp_connections", "Open SMTP connections.").Set(3);
  registry.AddGaugeFamily("herald_lane_lag_seconds", "Age of the oldest message per lane.", {"lane"})
      .WithLabels({"tenant-a"})
      .Set(0.5);
  Histogram& send = registry.AddHistogram("herald_send_duration_seconds", "Time to hand a message over.");
  for (const double v : {0.0001, 0.003, 0.2, 4.0, 30.0}) send.Observe(v);
  registry
      .AddHistogramFamily("herald_http_request_duration_seconds", "Request time by route.", {"route"}, {0.01, 0.1})
      .WithLabels({"/api/v1/messages"})
      .Observe(0.05);
  registry.AddCallbackGauge("herald_outbox_messages", "Messages waiting in the outbox.", [] { return 17.0; });
  registry.AddCallbackGaugeFamily("herald_queue_lane_messages", "Messages queued per lane.", {"lane"}, [] {
    return std::vector<LabeledValue>{{{"tenant-a"}, 3}, {{"tenant-b"}, 0}};
  });

  herald::testing::TempDir dir;
  const std::string file = dir.path() + "/metrics.txt";
  herald::testing::WriteFile(file, registry.Render());
  const auto result = herald::testing::RunCommand(
      {"sh", "-c", "promtool check metrics < '" + file + "' 2>&1"}, std::chrono::seconds(60));
  EXPECT_EQ(result.exit_code, 0) << result.output;
  EXPECT_EQ(result.output, "") << "promtool complained:\n" << result.output;
}

}  // namespace
}  // namespace herald::metrics
