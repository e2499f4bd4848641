-- PATCH /Users/{id}: deactivate or reactivate a seeded user (Okta's PATCH active), always to
-- the state it is not in, so that every request is a write, as Okta's are (it deactivates an
-- active user). Until the twenty-third round the state was drawn at random, and half of the
-- PATCHes set what was already there and wrote nothing.
--
-- Each of wrk's threads patches its own share of the users (WRK_THREADS of them, default 2,
-- as the bench scripts run wrk), so no other thread changes a user behind its back. A thread
-- flips what it believes when it sends (two of its requests for one user in flight then
-- alternate), and learns each user's state from the answers: a user is taken as active until
-- an answer says otherwise (seeded users are; a user an earlier run left inactive is found out
-- by its first PATCH, which changes nothing).
dofile(os.getenv("BENCH_DIR") .. "/common.lua")
local ids = read_lines(os.getenv("IDS_FILE"))
local threads_running = tonumber(os.getenv("WRK_THREADS") or "2")
local share = math.max(1, math.floor(#ids / threads_running))
local inactive = {}
local headers = body_headers()
request = function()
  local id = ids[((tid or 1) - 1) % threads_running * share + math.random(share)]
  local active = inactive[id] and "true" or "false"
  inactive[id] = not inactive[id]
  local body = [[{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"replace","value":{"active":]] .. active .. [[}}]}]]
  return wrk.format("PATCH", wrk.path .. "/Users/" .. id, headers, body)
end
response = function(_, _, body)
  local id, active = body:match('"id":"([^"]+)"'), body:match('"active":(%a+)')
  if id and active then
    inactive[id] = active == "false"
  end
end
