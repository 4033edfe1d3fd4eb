package render

import (
	"context"
	"errors"
	"fmt"
	"math"
	"reflect"
	"strings"
	"text/template"
	"text/template/parse"
	"time"
)

// The budget of work one object may cause: every generator run, template
// execution and kustomize build goes through it. A repo writer controls the
// input, so each is bounded by size and steps, and runs under the pass's
// context; exceeding a bound is that object's error, never the pass's.
const (
	// MaxPasswordLength bounds a Password generator's length.
	MaxPasswordLength = 4096
	// MaxSymbolCharacters bounds a Password generator's symbolCharacters.
	MaxSymbolCharacters = 1024
	// MaxGeneratorKeys bounds a Password generator's secretKeys.
	MaxGeneratorKeys = 64
	// MinRSAKeySize and MaxRSAKeySize bound an SSHKey's RSA keySize: ESO
	// accepts up to 8192, and Go refuses keys under 1024 bits.
	MinRSAKeySize = 1024
	MaxRSAKeySize = 8192
	// MaxRunTime bounds one generator run or template execution, inside
	// the pass's own deadline, so that one object cannot spend a pass.
	MaxRunTime = time.Minute
	// MaxMergeBytes bounds the JSON one ExternalSecret's rewrite merges
	// read and write together: a Secret holds at most 1 MiB, and a repo
	// writer chooses what a merge reads and how often.
	MaxMergeBytes = 16 << 20

	// maxTemplateBytes bounds a template's output and any one value a
	// template function returns: a Secret holds at most 1 MiB.
	maxTemplateBytes = 1 << 20
	// maxTemplateItems bounds a list or map a template function returns.
	maxTemplateItems = 100_000
	// maxTemplateWork bounds the bytes all function calls of one execution
	// take and return together (a loop that doubles a string stops here).
	maxTemplateWork = 64 << 20
	// maxTemplateSteps bounds range iterations, template calls and the
	// elements measured, in one execution.
	maxTemplateSteps = 1_000_000
)

// ErrBudget marks work refused or stopped by the budget.
var ErrBudget = errors.New("over the work budget")

// budgetError names what ran over, never an input: a count or a size can
// come from a secret value.
type budgetError struct{ what string }

func (e *budgetError) Error() string { return e.what + ": " + ErrBudget.Error() }
func (e *budgetError) Unwrap() error { return ErrBudget }

func overBudget(format string, a ...any) error {
	return &budgetError{what: fmt.Sprintf(format, a...)}
}

// Bounded runs fn under ctx and MaxRunTime, for work that cannot watch a
// context itself (key generation). fn must end on its own (its loops are
// bounded): Bounded stops waiting for it, it does not stop it.
func Bounded[T any](ctx context.Context, what string, fn func() (T, error)) (T, error) {
	ctx, cancel := context.WithTimeout(ctx, MaxRunTime)
	defer cancel()
	type result struct {
		v   T
		err error
	}
	done := make(chan result, 1)
	go func() {
		v, err := fn()
		done <- result{v, err}
	}()
	select {
	case r := <-done:
		return r.v, r.err
	case <-ctx.Done():
		var zero T
		return zero, fmt.Errorf("%s: stopped after %s or at the pass's end: %w", what, MaxRunTime, ctx.Err())
	}
}

// tickFunc is the function the budget calls at every range iteration and
// template call; it is not in TemplateFuncs, so a template cannot name it.
const tickFunc = "secretsync_budget_tick"

// execBudget is one template execution's account.
type execBudget struct {
	ctx   context.Context
	steps int
	work  int
}

func (b *execBudget) step(n int) error {
	b.steps += n
	if b.steps > maxTemplateSteps {
		return overBudget("the template takes more than %d steps (range iterations, template calls, elements)", maxTemplateSteps)
	}
	if err := b.ctx.Err(); err != nil {
		return fmt.Errorf("the template was stopped: %w", err)
	}
	return nil
}

func (b *execBudget) spend(fn string, n int) error {
	b.work += n
	if b.work > maxTemplateWork {
		return overBudget("function %s: the template's calls take and return more than %d MiB together", fn, maxTemplateWork>>20)
	}
	return nil
}

// limitedWriter refuses output past maxTemplateBytes.
type limitedWriter struct {
	buf []byte
}

func (w *limitedWriter) Write(p []byte) (int, error) {
	if len(w.buf)+len(p) > maxTemplateBytes {
		return 0, overBudget("the template's output exceeds %d MiB", maxTemplateBytes>>20)
	}
	w.buf = append(w.buf, p...)
	return len(p), nil
}

// instrument makes tpl run under b: a tick at the start of every template
// and of every range iteration, and the functions it calls wrapped to
// check their sizes first (by what they would make) and after.
func (b *execBudget) instrument(tpl *template.Template) {
	used := map[string]bool{}
	for _, t := range tpl.Templates() {
		if t.Tree == nil || t.Root == nil {
			continue
		}
		walk(t.Root, used)
		t.Root.Nodes = append([]parse.Node{tickNode(t.Root.Pos)}, t.Root.Nodes...)
	}
	funcs := template.FuncMap{tickFunc: func() (string, error) { return "", b.step(1) }}
	for name := range used {
		if fn, ok := guardedFuncs[name]; ok {
			funcs[name] = b.wrap(name, fn)
		}
	}
	tpl.Funcs(funcs)
}

func tickNode(pos parse.Pos) *parse.ActionNode {
	id := parse.NewIdentifier(tickFunc).SetPos(pos)
	cmd := &parse.CommandNode{NodeType: parse.NodeCommand, Pos: pos, Args: []parse.Node{id}}
	return &parse.ActionNode{NodeType: parse.NodeAction, Pos: pos, Pipe: &parse.PipeNode{NodeType: parse.NodePipe, Pos: pos, Cmds: []*parse.CommandNode{cmd}}}
}

// walk collects the function names n calls and puts a tick at the start
// of every range body.
func walk(n parse.Node, used map[string]bool) {
	switch n := n.(type) {
	case *parse.ListNode:
		if n != nil {
			for _, c := range n.Nodes {
				walk(c, used)
			}
		}
	case *parse.ActionNode:
		walk(n.Pipe, used)
	case *parse.PipeNode:
		if n != nil {
			for _, c := range n.Cmds {
				walk(c, used)
			}
		}
	case *parse.CommandNode:
		for _, a := range n.Args {
			walk(a, used)
		}
	case *parse.ChainNode:
		walk(n.Node, used)
	case *parse.IdentifierNode:
		used[n.Ident] = true
	case *parse.TemplateNode:
		walk(n.Pipe, used)
	case *parse.IfNode:
		walkBranch(&n.BranchNode, used)
	case *parse.WithNode:
		walkBranch(&n.BranchNode, used)
	case *parse.RangeNode:
		walkBranch(&n.BranchNode, used)
		n.List.Nodes = append([]parse.Node{tickNode(n.Pos)}, n.List.Nodes...)
	}
}

func walkBranch(n *parse.BranchNode, used map[string]bool) {
	walk(n.Pipe, used)
	walk(n.List, used)
	if n.ElseList != nil {
		walk(n.ElseList, used)
	}
}

// wrap checks a function's call against the budget: what it would make,
// from its arguments, before it runs; what it made, after.
func (b *execBudget) wrap(name string, fn any) any {
	v := reflect.ValueOf(fn)
	t := v.Type()
	hasErr := t.NumOut() == 2
	fail := func(err error) []reflect.Value {
		if !hasErr {
			panic(err) // text/template reports a function's panic as its error
		}
		return []reflect.Value{reflect.Zero(t.Out(0)), reflect.ValueOf(&err).Elem()}
	}
	return reflect.MakeFunc(t, func(args []reflect.Value) []reflect.Value {
		in, steps := 0, b.steps
		for _, a := range args {
			n, err := b.measure(a)
			if err != nil {
				return fail(err)
			}
			in += n
		}
		if err := b.spend(name, in); err != nil {
			return fail(err)
		}
		if err := predict(name, args, in, b.steps-steps); err != nil {
			return fail(err)
		}
		var res []reflect.Value
		if t.IsVariadic() {
			res = v.CallSlice(args)
		} else {
			res = v.Call(args)
		}
		if hasErr && !res[1].IsNil() {
			return res
		}
		if err := b.result(name, res[0]); err != nil {
			return fail(err)
		}
		return res
	}).Interface()
}

// result checks one returned value's size and spends it.
func (b *execBudget) result(name string, v reflect.Value) error {
	for v.Kind() == reflect.Interface || v.Kind() == reflect.Pointer {
		if v.IsNil() {
			return nil
		}
		v = v.Elem()
	}
	switch v.Kind() {
	case reflect.String:
		if v.Len() > maxTemplateBytes {
			return overBudget("function %s: its result exceeds %d MiB", name, maxTemplateBytes>>20)
		}
	case reflect.Slice, reflect.Map, reflect.Array:
		if v.Type().Elem().Kind() == reflect.Uint8 && v.Len() > maxTemplateBytes {
			return overBudget("function %s: its result exceeds %d MiB", name, maxTemplateBytes>>20)
		}
		if v.Len() > maxTemplateItems {
			return overBudget("function %s: its result has more than %d elements", name, maxTemplateItems)
		}
	}
	n, err := b.measure(v)
	if err != nil {
		return err
	}
	return b.spend(name, n)
}

// measure is the bytes of strings in v, walking lists and maps; each
// element costs a step.
func (b *execBudget) measure(v reflect.Value) (int, error) {
	for v.Kind() == reflect.Interface || v.Kind() == reflect.Pointer {
		if v.IsNil() {
			return 0, nil
		}
		v = v.Elem()
	}
	switch v.Kind() {
	case reflect.String:
		return v.Len(), nil
	case reflect.Slice, reflect.Array:
		if v.Type().Elem().Kind() == reflect.Uint8 {
			return v.Len(), nil
		}
		if err := b.step(v.Len()); err != nil {
			return 0, err
		}
		n := 0
		for i := range v.Len() {
			m, err := b.measure(v.Index(i))
			if err != nil {
				return 0, err
			}
			n += m
		}
		return n, nil
	case reflect.Map:
		if err := b.step(v.Len()); err != nil {
			return 0, err
		}
		n := 0
		for it := v.MapRange(); it.Next(); {
			k, err := b.measure(it.Key())
			if err != nil {
				return 0, err
			}
			e, err := b.measure(it.Value())
			if err != nil {
				return 0, err
			}
			n += k + e
		}
		return n, nil
	}
	return 0, nil
}

// predict refuses, before they run, the functions whose result grows with
// a count argument or multiplies its inputs, when it would be over budget;
// in and elems are the bytes and elements args hold (measure).
func predict(name string, args []reflect.Value, in, elems int) error {
	num := func(i int) float64 {
		if i >= len(args) || !args[i].CanInt() {
			return 0
		}
		return float64(args[i].Int())
	}
	str := func(i int) float64 {
		if i >= len(args) || args[i].Kind() != reflect.String {
			return 0
		}
		return float64(args[i].Len())
	}
	var bytes, items float64
	switch name {
	case "repeat":
		bytes = num(0) * str(1)
	case "randAlphaNum", "randAlpha", "randAscii", "randNumeric", "randBytes":
		bytes = num(0) * 2 // randBytes returns base64
	case "indent", "nindent":
		bytes = num(0)*(str(1)+1) + str(1)
	case "until":
		items = math.Abs(num(0))
	case "untilStep":
		items = span(num(0), num(1), num(2))
	case "seq":
		var p []float64
		if len(args) == 1 && args[0].Kind() == reflect.Slice {
			for i := range args[0].Len() {
				p = append(p, float64(args[0].Index(i).Int()))
			}
		}
		switch len(p) {
		case 1:
			items = math.Abs(p[0])
		case 2:
			items = math.Abs(p[1] - p[0])
		case 3:
			items = span(p[0], p[2], p[1])
		}
		bytes = items * 21
	case "replace":
		bytes = 2 * (str(2) + 1) * (str(1) + 1)
	case "wrapWith":
		bytes = (str(2) + 1) * (str(1) + 1)
	case "printf":
		if len(args) > 0 && args[0].Kind() == reflect.String {
			bytes = printfSize(args[0].String(), in, elems)
		}
	case "regexReplaceAll", "regexReplaceAllLiteral":
		bytes = 2 * (str(1) + 1) * (str(2) + 1)
	case "join":
		if len(args) == 2 {
			v := args[1]
			for v.Kind() == reflect.Interface && !v.IsNil() {
				v = v.Elem()
			}
			if v.Kind() == reflect.Slice || v.Kind() == reflect.Array {
				bytes = str(0) * float64(v.Len())
			}
		}
	}
	switch {
	case bytes > maxTemplateBytes:
		return overBudget("function %s: its result would exceed %d MiB", name, maxTemplateBytes>>20)
	case items > maxTemplateItems:
		return overBudget("function %s: its result would have more than %d elements", name, maxTemplateItems)
	}
	return nil
}

// span is the length of untilStep(start, stop, step).
func span(start, stop, step float64) float64 {
	if step == 0 || (stop-start)/step <= 0 {
		return 0
	}
	return math.Ceil((stop - start) / step)
}

// printfSize bounds what fmt.Sprintf(format, args) makes: every verb may
// pad to its width and precision (fmt caps each at 1e6) and, with an
// explicit index, print any operand again, escaped (%q, % #x: up to 6
// bytes a byte) and with each element's punctuation.
func printfSize(format string, in, elems int) float64 {
	const maxPad = 1e6 // fmt's own cap on a width or precision
	operand := 6*float64(in) + 64*float64(elems) + 64
	size := float64(len(format))
	for i := 0; i < len(format); i++ {
		if format[i] != '%' {
			continue
		}
		if i+1 < len(format) && format[i+1] == '%' {
			i++
			continue
		}
		pad, num := 0.0, 0.0
		for i++; i < len(format) && strings.IndexByte("+-# 0123456789.*[]", format[i]) >= 0; i++ {
			switch c := format[i]; {
			case c >= '0' && c <= '9':
				num = min(num*10+float64(c-'0'), maxPad)
			case c == '*':
				num = maxPad
			default:
				pad, num = pad+num, 0
			}
		}
		size += pad + num + operand
	}
	return size
}
