-- Okta "Import Now": a page of 100 users at a random offset of the whole directory.
dofile(os.getenv("BENCH_DIR") .. "/common.lua")
local users = tonumber(os.getenv("USERS"))
request = function()
  return wrk.format("GET", wrk.path .. "/Users?startIndex=" .. math.random(1, math.max(1, users - 99)) .. "&count=100")
end
