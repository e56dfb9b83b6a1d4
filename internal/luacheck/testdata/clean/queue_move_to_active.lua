--[[
  Moves the next job of a queue to the active list and locks it, in the
  style of BullMQ's moveToActive.

  KEYS[1] wait list
  KEYS[2] active list
  KEYS[3] prioritized sorted set
  KEYS[4] events stream
  KEYS[5] stalled set
  KEYS[6] rate limiter key
  KEYS[7] delayed sorted set
  KEYS[8] meta hash

  ARGV[1] key prefix, with the queue's hash tag ("bull:{emails}:")
  ARGV[2] timestamp in milliseconds
  ARGV[3] lock token
  ARGV[4] lock duration in milliseconds
  ARGV[5] msgpacked options: limiter, maxEvents

  Returns {job hash as a flat list, job id, 0, 0} when a job was moved,
  {0, 0, ttl of the rate limiter, 0} when rate limited, and
  {0, 0, 0, next delayed timestamp} when there is nothing to do.
]]
local rcall = redis.call

local waitKey = KEYS[1]
local activeKey = KEYS[2]
local prioritizedKey = KEYS[3]
local eventStreamKey = KEYS[4]
local stalledKey = KEYS[5]
local rateLimiterKey = KEYS[6]
local delayedKey = KEYS[7]
local metaKey = KEYS[8]

local prefix = ARGV[1]
local timestamp = tonumber(ARGV[2])
local token = ARGV[3]
local lockDuration = tonumber(ARGV[4])
local opts = cmsgpack.unpack(ARGV[5])
local maxEvents = opts.maxEvents or 10000

-- Job keys share the queue's {hash tag} through the prefix, so building
-- them here is safe on Redis Cluster; the ignore comments below say so.

local function getDelayedScore(score)
  return math.floor(score / 0x1000)
end

local function promoteDelayedJobs(delayedKey, waitKey, targetKey, prefix, now)
  local jobIds = rcall("ZRANGEBYSCORE", delayedKey, 0, (now + 1) * 0x1000 - 1, "LIMIT", 0, 1000)
  if #jobIds == 0 then
    return
  end
  rcall("ZREM", delayedKey, unpack(jobIds))
  for _, jobId in ipairs(jobIds) do
    local jobKey = prefix .. jobId
    local priority = tonumber(rcall("HGET", jobKey, "priority")) or 0 -- redislua:ignore key-not-from-KEYS
    if priority == 0 then
      rcall("LPUSH", waitKey, jobId)
    else
      rcall("ZADD", targetKey, priority, jobId)
    end
    rcall("XADD", eventStreamKey, "MAXLEN", "~", maxEvents, "*", "event", "waiting", "jobId", jobId)
    -- redislua:ignore key-not-from-KEYS
    rcall("HSET", jobKey, "delay", 0)
  end
end

local function getRateLimitTTL(opts, limiterKey)
  local limiter = opts.limiter
  if limiter and limiter.max then
    local current = tonumber(rcall("GET", limiterKey)) or 0
    if current >= tonumber(limiter.max) then
      local ttl = rcall("PTTL", limiterKey)
      if ttl > 0 then
        return ttl
      end
    end
  end
  return 0
end

local function nextDelayedTimestamp(delayedKey)
  local result = rcall("ZRANGE", delayedKey, 0, 0, "WITHSCORES")
  if #result > 0 then
    return getDelayedScore(tonumber(result[2]))
  end
  return 0
end

local function prepareJobForProcessing(keyPrefix, jobId)
  local jobKey = keyPrefix .. jobId
  if lockDuration > 0 then
    -- redislua:ignore key-not-from-KEYS: the lock key carries the queue's hash tag
    rcall("SET", jobKey .. ":lock", token, "PX", lockDuration)
  end
  rcall("SREM", stalledKey, jobId)
  rcall("XADD", eventStreamKey, "*", "event", "active", "jobId", jobId, "prev", "waiting")
  rcall("HSET", jobKey, "processedOn", timestamp) -- redislua:ignore key-not-from-KEYS
  rcall("HINCRBY", jobKey, "attemptsStarted", 1) -- redislua:ignore key-not-from-KEYS
  return { rcall("HGETALL", jobKey), jobId, 0, 0 } -- redislua:ignore key-not-from-KEYS
end

promoteDelayedJobs(delayedKey, waitKey, prioritizedKey, prefix, timestamp)

local ttl = getRateLimitTTL(opts, rateLimiterKey)
if ttl > 0 then
  return { 0, 0, ttl, 0 }
end

if rcall("HEXISTS", metaKey, "paused") == 1 then
  return { 0, 0, 0, 0 }
end

local jobId = rcall("RPOPLPUSH", waitKey, activeKey)
if not jobId then
  local popped = rcall("ZPOPMIN", prioritizedKey)
  if #popped > 0 then
    jobId = popped[1]
    rcall("LPUSH", activeKey, jobId)
  end
end

if jobId then
  return prepareJobForProcessing(prefix, jobId)
end
return { 0, 0, 0, nextDelayedTimestamp(delayedKey) }
