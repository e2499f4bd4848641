-- POST /Groups: a new group with a unique name and no members (Okta's Push Groups creates it
-- first, then PATCHes its members).
dofile(os.getenv("BENCH_DIR") .. "/common.lua")
local counter = 0
-- As post_user.lua: the run's start time and the thread (`tid`) keep names unique across runs
-- and threads, which draw the same random sequences.
local run = os.time()
local headers = body_headers()
request = function()
  counter = counter + 1
  local body = string.format(
    '{"schemas":["urn:ietf:params:scim:schemas:core:2.0:Group"],"displayName":"new-%d-%d-%d","members":[]}',
    run, tid or 0, counter)
  return wrk.format("POST", wrk.path .. "/Groups", headers, body)
end
