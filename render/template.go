package render

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strconv"
	"text/template"
	"text/template/parse"
)

// guardedFuncs is TemplateFuncs with every function wrapped so that its
// errors and panics never carry its arguments: the wrapper replaces them
// with a funcError that names only the function.
var guardedFuncs = guard(TemplateFuncs())

// funcError is what a template function's failure becomes.
type funcError struct{ fn string }

func (e *funcError) Error() string {
	return "function " + e.fn + " failed on its input (the reason is withheld: it could quote a value)"
}

var errorType = reflect.TypeFor[error]()

func guard(funcs template.FuncMap) template.FuncMap {
	out := make(template.FuncMap, len(funcs))
	for name, fn := range funcs {
		v := reflect.ValueOf(fn)
		t := v.Type()
		// text/template accepts one result, or two with an error second.
		errAt := -1
		if t.NumOut() == 2 && t.Out(1) == errorType {
			errAt = 1
		}
		out[name] = reflect.MakeFunc(t, func(args []reflect.Value) (results []reflect.Value) {
			defer func() {
				if recover() != nil {
					if errAt < 0 {
						// No error result to carry it: a panic whose value
						// names no argument, which text/template reports.
						panic(&funcError{fn: name})
					}
					results = []reflect.Value{reflect.Zero(t.Out(0)), reflect.ValueOf(error(&funcError{fn: name}))}
				}
			}()
			if t.IsVariadic() {
				results = v.CallSlice(args)
			} else {
				results = v.Call(args)
			}
			if errAt >= 0 && !results[errAt].IsNil() {
				results[errAt] = reflect.ValueOf(error(&funcError{fn: name}))
			}
			return results
		}).Interface()
	}
	return out
}

// Execute parses and runs one template over values. Its error never holds
// a byte of a value, nor where in the template execution stopped (which
// branch ran, how far a loop got, depends on the value): it names the
// template and, for a failed function or a budget, what failed.
//
// It runs under ctx and the budget (budget.go): its steps, its functions'
// sizes and its output are bounded, and it stops when ctx ends.
func Execute(ctx context.Context, name, body string, values map[string]string) (string, error) {
	out, _, err := ExecuteCounted(ctx, name, body, values)
	return out, err
}

// ExecCost is the work one template run did, as its budget counted it:
// its steps (range iterations, template calls, elements) and the bytes
// its function calls took and returned.
type ExecCost struct{ Steps, Bytes int }

// ExecuteCounted is Execute that also returns the run's cost, for a caller
// that charges many runs to one account by the work they did rather than
// by their run time, which a loaded machine would make differ between two
// runs of one input (diff and the pass).
func ExecuteCounted(ctx context.Context, name, body string, values map[string]string) (string, ExecCost, error) {
	tpl, err := ParseTemplate(name, body)
	if err != nil {
		return "", ExecCost{}, err
	}
	ctx, cancel := context.WithTimeout(ctx, MaxRunTime)
	defer cancel()
	// Read before instrument adds its own nodes.
	failText := staticFailMessage(tpl)
	b := &execBudget{ctx: ctx}
	b.instrument(tpl)
	// The budget checks the context between steps only: one function call
	// that ignores it (a PKCS#12 archive asking 2^31 key-derivation
	// rounds) would hold the pass, so the pass stops waiting at its end.
	out, err := Bounded(ctx, "template "+name, func() (string, error) { return execute(ctx, name, tpl, values, failText) })
	if err != nil {
		// b may still be counting (Bounded stopped waiting): not read.
		return "", ExecCost{}, err
	}
	return out, ExecCost{Steps: b.steps, Bytes: b.work}, nil
}

// execute runs a parsed, instrumented template; failText is what a call
// of fail may report (staticFailMessage).
func execute(ctx context.Context, name string, tpl *template.Template, values map[string]string, failText string) (string, error) {
	var w limitedWriter
	if err := tpl.Execute(&w, values); err != nil {
		if over := (*budgetError)(nil); errors.As(err, &over) {
			return "", fmt.Errorf("template %s: %w", name, over)
		}
		if ctx.Err() != nil {
			return "", fmt.Errorf("template %s: stopped: %w", name, ctx.Err())
		}
		return "", redact(name, err, failText)
	}
	return string(w.buf), nil
}

// redact rebuilds an execution error from nothing that execution chose:
// text/template's own message quotes the line, column and node where it
// stopped, and what follows may quote a value; all of it is dropped. A
// call of fail reports failText, text of the template itself, if any.
func redact(name string, err error, failText string) error {
	reason := "a value does not fit the template (wrong type, missing key or index out of range)"
	if fe := (*funcError)(nil); errors.As(err, &fe) {
		switch {
		case fe.fn != "fail":
			reason = fe.Error()
		case failText != "":
			reason = "the template called fail: " + strconv.Quote(failText)
		default:
			reason = "the template called fail (its message is withheld: it is not one literal of the template)"
		}
	}
	return fmt.Errorf("template %s: %s", name, reason)
}

// errFail is what fail returns; the guard turns it into a funcError for
// fail, and redact decides what of its message is told.
var errFail = errors.New("fail")

// staticFailMessage is the message a call of fail in tpl may report: the
// string literal that every fail of tpl is called with directly
// (fail "text"). If any fail takes anything else (a value, a function's
// result, a pipe), or two take different literals (which one ran would
// tell which branch a value chose), it is "": the message is withheld.
func staticFailMessage(tpl *template.Template) string {
	msg, ok := "", true
	var visit func(n parse.Node)
	visit = func(n parse.Node) {
		switch n := n.(type) {
		case *parse.ListNode:
			if n != nil {
				for _, c := range n.Nodes {
					visit(c)
				}
			}
		case *parse.ActionNode:
			visit(n.Pipe)
		case *parse.TemplateNode:
			visit(n.Pipe)
		case *parse.IfNode:
			visit(&n.BranchNode)
		case *parse.WithNode:
			visit(&n.BranchNode)
		case *parse.RangeNode:
			visit(&n.BranchNode)
		case *parse.BranchNode:
			visit(n.Pipe)
			visit(n.List)
			visit(n.ElseList)
		case *parse.ChainNode:
			visit(n.Node)
		case *parse.PipeNode:
			if n == nil {
				return
			}
			for i, c := range n.Cmds {
				if id, isID := c.Args[0].(*parse.IdentifierNode); isID && id.Ident == "fail" {
					lit, isLit := (parse.Node)(nil), false
					if len(c.Args) == 2 {
						lit = c.Args[1]
						_, isLit = lit.(*parse.StringNode)
					}
					if i > 0 || !isLit || (msg != "" && msg != lit.(*parse.StringNode).Text) {
						ok = false
					} else {
						msg = lit.(*parse.StringNode).Text
					}
					c = &parse.CommandNode{Args: c.Args[1:]}
				}
				for _, a := range c.Args {
					visit(a)
				}
			}
		case *parse.IdentifierNode:
			if n.Ident == "fail" { // fail as an argument: not a literal call
				ok = false
			}
		}
	}
	for _, t := range tpl.Templates() {
		if t.Tree != nil {
			visit(t.Root)
		}
	}
	if !ok {
		return ""
	}
	return msg
}
