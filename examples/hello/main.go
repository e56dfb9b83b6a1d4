// Command hello counts hits with an embedded Lua script, run by redislua.
// It uses the Redis at REDIS_ADDR, or localhost:6379.
package main

import (
	"cmp"
	"context"
	"embed"
	"fmt"
	"io/fs"
	"log"
	"os"

	"github.com/redis/go-redis/v9"

	"github.com/redislua/redislua"
)

//go:embed lua
var files embed.FS

func main() {
	scripts, err := fs.Sub(files, "lua") // lua/hit.lua is the script "hit"
	if err != nil {
		log.Fatal(err)
	}
	// Every script is read, checked and hashed once, here: a bad one stops
	// the program now, named by file and line.
	reg, err := redislua.NewRegistry(scripts, nil)
	if err != nil {
		log.Fatal(err)
	}
	rdb := redis.NewClient(&redis.Options{Addr: cmp.Or(os.Getenv("REDIS_ADDR"), "localhost:6379")})

	// EVALSHA; after a restart or SCRIPT FLUSH, one EVAL (NOSCRIPT handled).
	hits, err := reg.Run(context.Background(), rdb, "hit", []string{"hello:hits"}, 60).Int64()
	if err != nil {
		log.Fatal(err) // a script's error names its file and line
	}
	fmt.Println("hits:", hits)
}
