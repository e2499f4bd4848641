dofile(os.getenv("BENCH_DIR") .. "/common.lua")
local headers = body_headers()
request = function()
  local name = string.format("new-%s-%d@bench.example.com", unique_suffix(), math.random(1e9))
  local body = string.format([[{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"%s","name":{"givenName":"New","familyName":"User"},"emails":[{"primary":true,"value":"%s","type":"work"}],"displayName":"New User","externalId":"%s","active":true}]], name, name, name)
  return wrk.format("POST", wrk.path .. "/Users", headers, body)
end
