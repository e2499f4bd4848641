dofile(os.getenv("BENCH_DIR") .. "/common.lua")
local counter = 0
-- Every run draws the same random sequences (common.lua seeds each thread by its number):
-- the run's start time keeps a second run's userNames from colliding with the first's, and
-- the thread number (`tid`, from common.lua) one thread's from another's.
local run = os.time()
local headers = body_headers()
request = function()
  counter = counter + 1
  local name = string.format("new-%d-%d-%d-%d@bench.example.com", run, tid or 0, counter, math.random(1e9))
  local body = string.format([[{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"%s","name":{"givenName":"New","familyName":"User"},"emails":[{"primary":true,"value":"%s","type":"work"}],"displayName":"New User","externalId":"%s","active":true}]], name, name, name)
  return wrk.format("POST", wrk.path .. "/Users", headers, body)
end
