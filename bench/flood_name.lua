-- Unauthenticated GETs under a made-up tenant name a tenant could have, a new one each time.
local counter = 0
local pad = string.rep("a", 40)
request = function()
  counter = counter + 1
  return wrk.format("GET", "/scim/v2/" .. pad .. counter .. "-" .. math.random(1, 1000000000) .. "/Users")
end
