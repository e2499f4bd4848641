-- PATCH /Users/{id}: deactivate or reactivate a random seeded user (Okta's PATCH active).
dofile(os.getenv("BENCH_DIR") .. "/common.lua")
local ids = read_lines(os.getenv("IDS_FILE"))
local headers = {["Content-Type"] = "application/scim+json"}
for k, v in pairs(wrk.headers) do headers[k] = v end
request = function()
  local active = math.random(2) == 1 and "true" or "false"
  local body = [[{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"replace","value":{"active":]] .. active .. [[}}]}]]
  return wrk.format("PATCH", wrk.path .. "/Users/" .. ids[math.random(#ids)], headers, body)
end
