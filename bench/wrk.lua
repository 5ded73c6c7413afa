-- wrk script for every HTTP profile of `make bench`; configured by environment variables so one
-- script serves GET, POST and the mixed profile:
--   BENCH_METHOD       GET or POST (the URL given to wrk is the request path)
--   BENCH_TOKEN        bearer token (optional)
--   BENCH_USER_ID      sent as x-homesense-user-id (stage 2 service called directly, behind Envoy's place)
--   BENCH_BODY_FILE    request body for POST
--   BENCH_WRITE_PATH, BENCH_WRITE_EVERY   mixed profile: every Nth request is a POST of the body there
-- done() prints one line "BENCH_JSON {...}" that bench/run.py parses.
local method = os.getenv("BENCH_METHOD") or "GET"
local headers = {["Content-Type"] = "application/json"}
local token = os.getenv("BENCH_TOKEN")
if token and token ~= "" then headers["Authorization"] = "Bearer " .. token end
local user = os.getenv("BENCH_USER_ID")
if user and user ~= "" then headers["x-homesense-user-id"] = user end
local body = nil
local body_file = os.getenv("BENCH_BODY_FILE")
if body_file and body_file ~= "" then
  local f = assert(io.open(body_file, "rb"))
  body = f:read("*a")
  f:close()
end
local write_path = os.getenv("BENCH_WRITE_PATH")
local write_every = tonumber(os.getenv("BENCH_WRITE_EVERY") or "0")
local n = 0

request = function()
  n = n + 1
  if write_every > 0 and n % write_every == 0 then
    return wrk.format("POST", write_path, headers, body)
  end
  if method == "POST" then
    return wrk.format("POST", nil, headers, body)
  end
  return wrk.format("GET", nil, headers, nil)
end

done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'BENCH_JSON {"requests":%d,"duration_us":%d,"connect_errors":%d,"read_errors":%d,"write_errors":%d,' ..
    '"status_errors":%d,"timeouts":%d,"p50_ms":%.3f,"p90_ms":%.3f,"p95_ms":%.3f,"p99_ms":%.3f,' ..
    '"max_ms":%.3f,"mean_ms":%.3f}\n',
    summary.requests, summary.duration, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50) / 1000, latency:percentile(90) / 1000, latency:percentile(95) / 1000,
    latency:percentile(99) / 1000, latency.max / 1000, latency.mean / 1000))
end
