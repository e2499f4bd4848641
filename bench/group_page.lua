-- Entra's group read: a page of 100 groups without members.
dofile(os.getenv("BENCH_DIR") .. "/common.lua")
request = function()
  return wrk.format("GET", wrk.path .. "/Groups?excludedAttributes=members&count=100&startIndex=" .. math.random(1, 900))
end
