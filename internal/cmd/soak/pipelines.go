package main

import (
	"context"
	"errors"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/redislua/redislua"
)

// pipelineLen is how many incr calls a pipeline carries.
const pipelineLen = 8

// pipeState is a worker's own counter, which only its pipelines change,
// so that the worker knows what each reply must be.
type pipeState struct {
	key   string
	known bool // whether value is the counter's value
	value int64
}

// pipeline sends pipelineLen increments of the worker's counter in one
// pipeline, half the time plain and half the time in MULTI/EXEC, on a
// client with OptimizePipelines (the first call is EVAL, the others
// EVALSHA). Each reply must be the counter plus one more than the reply
// before. After an error the counter is read again before the next one.
func (w *worker) pipeline() {
	s := w.s
	p := w.pipe
	if !p.known {
		v, err := s.getInt(p.key, time.Now().Add(opTimeout))
		if err != nil {
			return
		}
		p.value, p.known = v, true
	}
	tx := w.rng.IntN(2) == 0
	cmds := make([]*redis.Cmd, pipelineLen)
	var firstErr error
	_ = s.timed(opPipeline, func(ctx context.Context) error {
		queue := func(pipe redis.Pipeliner) error {
			for i := range cmds {
				cmds[i] = s.incr.Run(ctx, pipe, []string{p.key}, 1)
			}
			return nil
		}
		var err error
		if tx {
			_, err = s.t.client.TxPipelined(ctx, queue)
		} else {
			_, err = s.t.client.Pipelined(ctx, queue)
		}
		for i, cmd := range cmds {
			if cmd == nil {
				break
			}
			got, cerr := cmd.Int64()
			if cerr != nil {
				firstErr = cerr
				break
			}
			if want := p.value + int64(i) + 1; got != want {
				s.v.fail(checkPipelineSequence, "%s: reply %d of a pipeline (tx %v) is %d, want %d", p.key, i+1, tx, got, want)
				firstErr = errors.New("reply out of sequence")
				break
			}
		}
		if firstErr == nil && err != nil {
			firstErr = err
		}
		return firstErr
	})
	if firstErr != nil {
		p.known = false
		if !tx && errors.Is(firstErr, redislua.ErrNoScript) {
			s.outcomes.add(plainNoScript, 1)
		}
		return
	}
	p.value += pipelineLen
}

// plainNoScript counts the plain pipelines that failed with NOSCRIPT,
// which OptimizePipelines documents as possible when SCRIPT FLUSH runs in
// the middle of one.
const plainNoScript = "pipeline: NOSCRIPT in a plain pipeline (documented)"
