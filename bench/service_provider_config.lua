-- An authenticated SCIM request that reads no database: the floor of what any SCIM request
-- costs here (HTTP, routing, middleware, the token check, the request log, JSON).
dofile(os.getenv("BENCH_DIR") .. "/common.lua")
request = function()
  return wrk.format("GET", wrk.path .. "/ServiceProviderConfig")
end
