-- Okta's profile push: PUT the whole user (same userName, a changed title) on a random
-- seeded user. seed.py names user i `user<i, 6 digits>@bench.example.com`, in IDS_FILE order.
dofile(os.getenv("BENCH_DIR") .. "/common.lua")
local ids = read_lines(os.getenv("IDS_FILE"))
local headers = {["Content-Type"] = "application/scim+json"}
for k, v in pairs(wrk.headers) do headers[k] = v end
request = function()
  local i = math.random(#ids)
  local name = string.format("user%06d@bench.example.com", i - 1)
  local body = string.format([[{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"%s","externalId":"00u%017d","name":{"givenName":"Given%d","familyName":"Family%d"},"displayName":"Given%d Family%d","title":"Title %d","emails":[{"primary":true,"value":"%s","type":"work"}],"active":true}]], name, i - 1, i - 1, i - 1, i - 1, i - 1, math.random(1000), name)
  return wrk.format("PUT", wrk.path .. "/Users/" .. ids[i], headers, body)
end
