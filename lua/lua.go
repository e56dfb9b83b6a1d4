// Package lua holds the Lua scripts of the library's prebuilt primitives
// (packages lock, ratelimit, transfer and cas) as an fs.FS, so that they
// can be listed, linted or loaded like any other scripts:
//
//	reg, err := redislua.NewRegistry(lua.FS, nil)
//	err = reg.LoadAll(ctx, rdb) // preload every prebuilt script
//
// Script names are paths in FS without ".lua": "lock/acquire",
// "ratelimit/log", "transfer/transfer", "cas/swap". lib/ holds files that
// scripts include.
package lua

import "embed"

//go:embed cas lib lock ratelimit transfer
var files embed.FS

// FS holds the prebuilt scripts, rooted at this directory.
var FS = files
