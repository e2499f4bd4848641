-- POST /Groups: a new group with a unique name and no members (Okta's Push Groups creates it
-- first, then PATCHes its members).
dofile(os.getenv("BENCH_DIR") .. "/common.lua")
local headers = body_headers()
request = function()
  local body = string.format(
    '{"schemas":["urn:ietf:params:scim:schemas:core:2.0:Group"],"displayName":"new-%s","members":[]}',
    unique_suffix())
  return wrk.format("POST", wrk.path .. "/Groups", headers, body)
end
