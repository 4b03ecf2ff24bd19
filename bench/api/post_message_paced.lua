-- wrk script: post_message.lua at an offered rate instead of as fast as possible.
-- Each connection waits BENCH_DELAY_MS (may be fractional: wrk delays in whole
-- milliseconds, so the floor and the ceiling are mixed to that mean) after each
-- answer, which measures latency at a given load rather than at saturation.
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["X-API-Key"] = os.getenv("BENCH_API_KEY")
wrk.body = '{"recipients":[{"channel":"sms","to":"+15551234567"}],"content":"Your verification code is 123456"}'

local mean = tonumber(os.getenv("BENCH_DELAY_MS") or "5")
local low = math.floor(mean)
local high_share = mean - low

function delay()
  if math.random() < high_share then return low + 1 end
  return low
end
