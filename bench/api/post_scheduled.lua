-- wrk script: like post_message.lua, but scheduled far ahead, so no worker competes
-- with the intake for the database: the acceptance path alone.
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["X-API-Key"] = os.getenv("BENCH_API_KEY")
wrk.body = '{"recipients":[{"channel":"sms","to":"+15551234567"}],"content":"Your verification code is 123456","scheduled_at":"2027-06-01T00:00:00Z"}'
