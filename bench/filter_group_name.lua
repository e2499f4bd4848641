-- Okta's pre-check before it pushes a group: displayName eq of one of the 1,000 small groups
-- (team-0000 … team-0999, made by groups_build.py), with its members.
dofile(os.getenv("BENCH_DIR") .. "/common.lua")
request = function()
  local name = string.format("team-%04d", math.random(0, 999))
  return wrk.format("GET", wrk.path .. "/Groups?filter=displayName%20eq%20%22" .. name .. "%22&startIndex=1&count=100")
end
