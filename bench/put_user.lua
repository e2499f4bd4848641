-- Okta's profile push: PUT the whole user as seed.py created it (same userName, emails and
-- enterprise extension) with a changed title, on a random seeded user. seed.py names user i
-- `user<i, 6 digits>@bench.example.com`, in IDS_FILE order.
dofile(os.getenv("BENCH_DIR") .. "/common.lua")
local ids = read_lines(os.getenv("IDS_FILE"))
local headers = body_headers()
local ent = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
request = function()
  local i = math.random(#ids)
  local name = string.format("user%06d@bench.example.com", i - 1)
  local body = string.format([[{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User","%s"],"userName":"%s","externalId":"00u%017d","name":{"givenName":"Given%d","familyName":"Family%d"},"displayName":"Given%d Family%d","title":"Title %d","emails":[{"primary":true,"value":"%s","type":"work"},{"value":"home%d@mail.example.org","type":"home"}],"active":true,"%s":{"department":"Dept%d","employeeNumber":"%d","manager":{"value":"boss"}}}]], ent, name, i - 1, i - 1, i - 1, i - 1, i - 1, math.random(1000), name, i - 1, ent, (i - 1) % 50, i - 1)
  return wrk.format("PUT", wrk.path .. "/Users/" .. ids[i], headers, body)
end
