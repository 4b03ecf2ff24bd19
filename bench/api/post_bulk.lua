-- wrk script: POST /api/v1/messages/bulk with BENCH_BULK_SIZE messages of one recipient each.
local n = tonumber(os.getenv("BENCH_BULK_SIZE") or "1000")
local parts = {}
for i = 1, n do
  parts[i] = '{"recipients":[{"channel":"email","to":"user' .. i .. '@example.org"}],"subject":"Weekly digest","content":"Hello, here is your digest number ' .. i .. '"}'
end
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["X-API-Key"] = os.getenv("BENCH_API_KEY")
wrk.body = '{"messages":[' .. table.concat(parts, ",") .. ']}'
