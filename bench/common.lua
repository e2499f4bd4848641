-- Shared by the wrk scenarios: Okta's request headers, and a machine-readable result line.
-- AUTH (a whole header value, e.g. "Basic …") overrides the bearer TOKEN.
wrk.headers["Authorization"] = os.getenv("AUTH") or ("Bearer " .. (os.getenv("TOKEN") or ""))
wrk.headers["Accept"] = "application/scim+json"
-- As Okta asks (idp-clients.md §1.1): scimd gzips answers of 14 KiB and more (a page of users).
-- ACCEPT_ENCODING overrides it; empty, no header is sent.
local accept_encoding = os.getenv("ACCEPT_ENCODING") or "gzip,deflate"
if accept_encoding ~= "" then wrk.headers["Accept-Encoding"] = accept_encoding end

-- Each of wrk's threads runs its own Lua with the same default random seed, so without this
-- every thread asked for the same users in the same order: a user written by one thread was
-- written again by the other moments later (often in the same group commit, its pages
-- already dirty) and a user read by one was read again from warm caches. A fixed seed per
-- thread keeps runs repeatable, so builds compared in turn get the same requests. A run that
-- warms a server up before the measured one sets WRK_SEED to draw other users: with the same
-- sequence, the measured PATCHes began by setting the state the warm-up had just set (a no-op
-- that writes nothing), and `bench/instructions` counted a PATCH at about a quarter writes.
local run_seed = tonumber(os.getenv("WRK_SEED") or "0")
local threads = 0
function setup(thread)
  threads = threads + 1
  thread:set("tid", threads)
end

function init(args)
  math.randomseed(7919 * (tid or 0) + 1 + 104729 * run_seed)
end

-- The headers of a request with a SCIM body: wrk.format with a header table replaces
-- wrk.headers, so the token and Accept above are carried over.
function body_headers()
  local headers = {["Content-Type"] = "application/scim+json"}
  for k, v in pairs(wrk.headers) do headers[k] = v end
  return headers
end

-- A name part no other request of any run or thread has: every run draws the same random
-- sequences (each thread is seeded by its number, above), so the run's start time keeps a
-- second run's names from colliding with the first's (on PostgreSQL's kept schema they were
-- all 409s), and the thread number (`tid`) one thread's from another's.
local run_started = os.time()
local sent = 0
function unique_suffix()
  sent = sent + 1
  return string.format("%d-%d-%d", run_started, tid or 0, sent)
end

function read_lines(path)
  local t = {}
  for line in io.lines(path) do t[#t + 1] = line end
  return t
end

function done(summary, latency, requests)
  local errors = summary.errors.connect + summary.errors.read + summary.errors.write
    + summary.errors.status + summary.errors.timeout
  -- wrk's timeout is 2 s: a timeout is a request that waited that long, a status error an
  -- answer outside 2xx/3xx, a socket error a connection that failed.
  io.write(string.format(
    "RESULT requests=%d errors=%d seconds=%.3f p50_us=%d p99_us=%d timeouts=%d status_errors=%d socket_errors=%d\n",
    summary.requests, errors, summary.duration / 1e6, latency:percentile(50), latency:percentile(99),
    summary.errors.timeout, summary.errors.status,
    summary.errors.connect + summary.errors.read + summary.errors.write))
end
