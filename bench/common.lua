-- Shared by the wrk scenarios: the Authorization header, and a machine-readable result line.
-- AUTH (a whole header value, e.g. "Basic …") overrides the bearer TOKEN.
wrk.headers["Authorization"] = os.getenv("AUTH") or ("Bearer " .. (os.getenv("TOKEN") or ""))
wrk.headers["Accept"] = "application/scim+json"

function read_lines(path)
  local t = {}
  for line in io.lines(path) do t[#t + 1] = line end
  return t
end

function done(summary, latency, requests)
  local errors = summary.errors.connect + summary.errors.read + summary.errors.write
    + summary.errors.status + summary.errors.timeout
  io.write(string.format("RESULT requests=%d errors=%d seconds=%.3f p50_us=%d p99_us=%d\n",
    summary.requests, errors, summary.duration / 1e6, latency:percentile(50), latency:percentile(99)))
end
