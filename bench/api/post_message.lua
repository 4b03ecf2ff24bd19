-- wrk script: POST one message with one SMS recipient per request.
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["X-API-Key"] = os.getenv("BENCH_API_KEY")
wrk.body = '{"recipients":[{"channel":"sms","to":"+15551234567"}],"content":"Your verification code is 123456"}'
