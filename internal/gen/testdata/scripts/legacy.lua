-- Counts its keys and args, as written before headers declared them.
return {#KEYS, #ARGV}
