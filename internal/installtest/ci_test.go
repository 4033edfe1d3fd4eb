package installtest

import (
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/rhysd/actionlint"
	"sigs.k8s.io/yaml"
)

const ciDir = "../../examples/ci"

// TestTheGitHubWorkflowsLint runs actionlint (its Go package: workflow
// syntax, expressions, action inputs, permissions) on the example
// workflows and on the GitHub Action at the root (action.yml): on the
// examples as published; on the examples using the action from the
// checkout (uses: ./), which checks their inputs against action.yml and
// its runs section; and on the action's steps as the job of a reusable
// workflow with the same inputs, which checks their expressions and the
// inputs of the actions they use. It also checks what they promise:
// validate and plan both run with -o github, the binary is pinned, checked
// and cached, the untrusted half cannot write, and the comment half never
// checks out code.
func TestTheGitHubWorkflowsLint(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join(ciDir, "github", "*.yaml"))
	if len(files) != 2 {
		t.Fatalf("workflows: %v", files)
	}
	actionLint(t, files, nil)

	// The examples with the action from this checkout.
	proj := t.TempDir()
	uses := regexp.MustCompile(`uses: secretsync/secretsync@\S+`)
	var local []string
	for _, f := range files {
		body := mustRead(t, f)
		if !uses.MatchString(body) {
			t.Errorf("%s does not use secretsync's action", f)
		}
		local = append(local, writeFile(t, filepath.Join(proj, ".github", "workflows", filepath.Base(f)), uses.ReplaceAllString(body, "uses: ./")))
	}
	writeFile(t, filepath.Join(proj, "action.yml"), mustRead(t, "../../action.yml"))
	p, err := actionlint.NewProject(proj)
	if err != nil {
		t.Fatal(err)
	}
	actionLint(t, local, p)

	// The action's steps, as a reusable workflow's job.
	action := readYAML(t, "../../action.yml")
	steps := actionSteps(t, action)
	inputs := map[string]any{}
	for name := range action["inputs"].(map[string]any) {
		inputs[name] = map[string]any{"type": "string", "required": false}
	}
	wf, err := yaml.Marshal(map[string]any{
		"on":          map[string]any{"workflow_call": map[string]any{"inputs": inputs}},
		"permissions": map[string]any{},
		"jobs":        map[string]any{"action": map[string]any{"runs-on": "ubuntu-latest", "steps": steps}},
	})
	if err != nil {
		t.Fatal(err)
	}
	actionLint(t, []string{writeFile(t, filepath.Join(t.TempDir(), "action-as-workflow.yaml"), string(wf))}, nil)
	checkActionSteps(t, action, steps)

	plan := readYAML(t, filepath.Join(ciDir, "github", "secretsync-plan.yaml"))
	comment := readYAML(t, filepath.Join(ciDir, "github", "secretsync-comment.yaml"))
	if _, ok := triggers(plan)["pull_request_target"]; ok {
		t.Error("the plan workflow runs the pull request's files with pull_request_target")
	}
	if p := plan["permissions"].(map[string]any); len(p) != 1 || p["contents"] != "read" {
		t.Errorf("the plan workflow, which reads untrusted files, has permissions %v", p)
	}
	if strings.Contains(mustRead(t, filepath.Join(ciDir, "github", "secretsync-comment.yaml")), "actions/checkout") {
		t.Error("the comment workflow, which can write, checks out code")
	}
	if _, ok := triggers(comment)["workflow_run"]; !ok {
		t.Error("the comment workflow does not run on workflow_run")
	}
	v := releaseVersion(t)
	for name, c := range map[string]struct {
		wf   map[string]any
		with map[string]string
	}{
		"plan":    {plan, map[string]string{"mode": "plan", "version": v}},
		"comment": {comment, map[string]string{"mode": "comment"}},
	} {
		step := actionStep(t, c.wf)
		if step["uses"] != "secretsync/secretsync@"+v {
			t.Errorf("the %s workflow uses %v, want the release secretsync/secretsync@%s", name, step["uses"], v)
		}
		with, _ := step["with"].(map[string]any)
		for k, want := range c.with {
			if with[k] != want {
				t.Errorf("the %s workflow's %s is %v, want %s", name, k, with[k], want)
			}
		}
	}

	script := stepScripts(steps, "plan")
	checkReviewScript(t, "action", script)
	if !strings.Contains(script, "-o github") {
		t.Error("validate does not write GitHub annotations")
	}
	if !strings.Contains(stepScripts(steps, "plan"), "sha256sum -c") {
		t.Error("the downloaded binary is not checked against checksums.txt")
	}
	if !strings.Contains(mustRead(t, "../../action.yml"), "actions/cache@") {
		t.Error("the secretsync binary is not cached")
	}
	for _, mode := range []string{"plan", "comment"} {
		checkShell(t, mode, stepScripts(steps, mode))
	}
}

// checkActionSteps: what actionlint does not check in a composite action.
// Every run step names its shell and reads inputs and contexts from env
// (never ${{ }} in the script, where a branch name or a title could be
// shell code), every action it uses is pinned, every input it reads is
// declared, and every step belongs to one mode.
func checkActionSteps(t *testing.T, action map[string]any, steps []any) {
	t.Helper()
	if runs := action["runs"].(map[string]any); runs["using"] != "composite" {
		t.Errorf("action.yml runs %v, want composite", runs["using"])
	}
	declared := action["inputs"].(map[string]any)
	for _, name := range []string{"mode", "path", "version", "base"} {
		if declared[name] == nil {
			t.Errorf("action.yml has no input %s", name)
		}
	}
	for _, m := range regexp.MustCompile(`inputs\.([a-z-]+)`).FindAllStringSubmatch(mustRead(t, "../../action.yml"), -1) {
		if declared[m[1]] == nil {
			t.Errorf("action.yml reads inputs.%s, which it does not declare", m[1])
		}
	}
	for i, s := range steps {
		step := s.(map[string]any)
		if run, ok := step["run"].(string); ok {
			if step["shell"] != "bash" {
				t.Errorf("step %d (%v) has shell %v; a composite action's run step must name one", i, step["name"], step["shell"])
			}
			if strings.Contains(run, "${{") {
				t.Errorf("step %d (%v) interpolates expressions into its script; read them from env", i, step["name"])
			}
		}
		if u, ok := step["uses"].(string); ok && !regexp.MustCompile(`^[\w-]+/[\w-]+@v\d+$`).MatchString(u) {
			t.Errorf("step %d uses %s, not a pinned major version", i, u)
		}
		if i > 0 {
			cond, _ := step["if"].(string)
			if !strings.Contains(cond, "inputs.mode == 'plan'") && !strings.Contains(cond, "inputs.mode == 'comment'") {
				t.Errorf("step %d (%v) runs in every mode: if %q", i, step["name"], cond)
			}
		}
	}
}

// actionLint runs actionlint on files and fails the test on each error.
func actionLint(t *testing.T, files []string, p *actionlint.Project) {
	t.Helper()
	l, err := actionlint.NewLinter(io.Discard, &actionlint.LinterOptions{})
	if err != nil {
		t.Fatal(err)
	}
	errs, err := l.LintFiles(files, p)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range errs {
		t.Errorf("actionlint: %s:%d:%d: %s [%s]", e.Filepath, e.Line, e.Column, e.Message, e.Kind)
	}
}

func writeFile(t *testing.T, path, body string) string {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// actionSteps is action.yml's runs.steps.
func actionSteps(t *testing.T, action map[string]any) []any {
	t.Helper()
	runs, _ := action["runs"].(map[string]any)
	steps, _ := runs["steps"].([]any)
	if len(steps) == 0 {
		t.Fatal("action.yml has no steps")
	}
	return steps
}

// actionStep is the one step of a workflow that uses secretsync's action.
func actionStep(t *testing.T, wf map[string]any) map[string]any {
	t.Helper()
	var found []map[string]any
	for _, job := range wf["jobs"].(map[string]any) {
		for _, s := range job.(map[string]any)["steps"].([]any) {
			if u, _ := s.(map[string]any)["uses"].(string); strings.HasPrefix(u, "secretsync/secretsync@") {
				found = append(found, s.(map[string]any))
			}
		}
	}
	if len(found) != 1 {
		t.Fatalf("%d steps use secretsync's action", len(found))
	}
	return found[0]
}

// stepScripts joins the run: scripts of the action's steps for mode.
func stepScripts(steps []any, mode string) string {
	var out []string
	for _, s := range steps {
		step := s.(map[string]any)
		cond, _ := step["if"].(string)
		if run, ok := step["run"].(string); ok && strings.Contains(cond, "inputs.mode == '"+mode+"'") {
			out = append(out, run)
		}
	}
	return strings.Join(out, "\n")
}

// TestTheGitLabJobIsWellFormed is a structural check of the GitLab job
// (the keys GitLab requires, shell syntax), and runs its script with stub
// secretsync and curl commands to check what it does in each case.
func TestTheGitLabJobIsWellFormed(t *testing.T) {
	doc := readYAML(t, filepath.Join(ciDir, "gitlab-ci.yaml"))
	job, ok := doc["secretsync-plan"].(map[string]any)
	if !ok || len(doc) != 1 {
		t.Fatalf("jobs: %v", doc)
	}
	for _, k := range []string{"image", "rules", "variables", "script", "cache"} {
		if _, ok := job[k]; !ok {
			t.Errorf("the job has no %s", k)
		}
	}
	known := map[string]bool{"image": true, "rules": true, "variables": true, "cache": true, "before_script": true, "script": true, "artifacts": true}
	for k := range job {
		if !known[k] {
			t.Errorf("unknown job key %q", k)
		}
	}
	lines := func(k string) string {
		var out []string
		for _, l := range job[k].([]any) {
			out = append(out, l.(string))
		}
		return strings.Join(out, "\n")
	}
	script := lines("script")
	checkReviewScript(t, "gitlab", script)
	checkShell(t, "before_script", lines("before_script"))
	checkShell(t, "script", script)
	version := job["variables"].(map[string]any)["SECRETSYNC_VERSION"]
	if !regexp.MustCompile(`^v\d+\.\d+\.\d+$`).MatchString(version.(string)) {
		t.Errorf("SECRETSYNC_VERSION %v is not a pinned release", version)
	}

	// The script's last part, with stubs: secretsync exits as told, curl
	// records its calls and answers the notes listing.
	body := script[strings.Index(script, "base="):]
	for _, c := range []struct {
		name                  string
		validate, plan        string
		token, existing       string
		wantExit              int
		wantCalls, wantInNote string
	}{
		{"findings: the plan is still posted, and the job fails", "1", "1", "tok", "", 1, "POST", "plan of"},
		{"a clean change updates the one note", "0", "0", "tok", "42", 0, "PUT .*/notes/42", "plan of"},
		{"a failed plan posts why, never an empty note", "0", "2", "tok", "", 1, "POST", "secretsync plan failed"},
		{"without a token (a fork) nothing is posted", "1", "0", "", "", 1, "^$", ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			stub := func(name, text string) {
				if err := os.WriteFile(filepath.Join(dir, name), []byte("#!/bin/sh\n"+text), 0o755); err != nil {
					t.Fatal(err)
				}
			}
			stub("secretsync", `case "$1" in
validate) exit "$STUB_VALIDATE";;
plan) [ "$STUB_PLAN" -le 1 ] && echo "plan of $*"; [ "$STUB_PLAN" -gt 1 ] && echo "head HEAD: render: broken.yaml: bad" >&2; exit "$STUB_PLAN";;
esac`)
			stub("curl", `for a in "$@"; do case "$a" in -X) m=next;; *) [ "$m" = next ] && m="$a";; esac; done
url=""; for a in "$@"; do url="$a"; done
echo "${m:-GET} $url" >> "$STUB_DIR/calls"
for a in "$@"; do case "$a" in body@*) cp "${a#body@}" "$STUB_DIR/note";; esac; done
[ -z "$m" ] && { [ -n "$STUB_EXISTING" ] && echo "[{\"id\": $STUB_EXISTING, \"body\": \"<!-- secretsync-plan -->\"}]" || echo "[]"; }
exit 0`)
			stub("jq", `cat > /dev/null; echo "$STUB_EXISTING"`)
			cmd := exec.Command("sh", "-c", body)
			cmd.Dir = dir
			cmd.Env = []string{"PATH=" + dir + ":/usr/bin:/bin", "STUB_DIR=" + dir, "STUB_VALIDATE=" + c.validate, "STUB_PLAN=" + c.plan,
				"STUB_EXISTING=" + c.existing, "SECRETSYNC_BOT_TOKEN=" + c.token, "SECRETSYNC_PATH=clusters/prod",
				"CI_MERGE_REQUEST_TARGET_BRANCH_NAME=main", "CI_API_V4_URL=https://gitlab.example/api/v4", "CI_PROJECT_ID=7",
				"CI_MERGE_REQUEST_IID=3", "CI_COMMIT_SHORT_SHA=abc123"}
			out, err := cmd.CombinedOutput()
			code := 0
			if ee, ok := err.(*exec.ExitError); ok {
				code = ee.ExitCode()
			} else if err != nil {
				t.Fatal(err)
			}
			if code != c.wantExit {
				t.Fatalf("exit %d, want %d\n%s", code, c.wantExit, out)
			}
			calls, _ := os.ReadFile(filepath.Join(dir, "calls"))
			writes := regexp.MustCompile(`(?m)^(POST|PUT) .*$`).FindAllString(string(calls), -1)
			if !regexp.MustCompile(c.wantCalls).MatchString(strings.Join(writes, "\n")) || len(writes) > 1 {
				t.Fatalf("writes %q, want one matching %q\n%s", writes, c.wantCalls, out)
			}
			note, _ := os.ReadFile(filepath.Join(dir, "note"))
			if c.wantInNote != "" && (!strings.Contains(string(note), c.wantInNote) || !strings.HasPrefix(string(note), "<!-- secretsync-plan -->")) {
				t.Fatalf("note:\n%s", note)
			}
		})
	}
}

// checkReviewScript: validate and plan both run, neither stops the other,
// and a failed plan is never hidden behind `|| true`.
func checkReviewScript(t *testing.T, name, script string) {
	t.Helper()
	for _, want := range []string{"secretsync validate", "secretsync plan", "|| validate=$?", "|| plan=$?", "--base"} {
		if !strings.Contains(script, want) {
			t.Errorf("%s: the script lacks %q", name, want)
		}
	}
	if strings.Contains(script, "|| true") || strings.Contains(script, "@latest") || strings.Contains(script, "--format") {
		t.Errorf("%s: the script hides a failure, is unpinned or uses a deprecated flag:\n%s", name, script)
	}
}

// triggers is a workflow's on: map, which YAML 1.1 reads as the key true.
func triggers(wf map[string]any) map[string]any {
	on, _ := wf["true"].(map[string]any)
	return on
}

func checkShell(t *testing.T, name, script string) {
	t.Helper()
	cmd := exec.Command("sh", "-n")
	cmd.Stdin = strings.NewReader(script)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Errorf("%s: shell syntax: %v\n%s", name, err, out)
	}
}

func readYAML(t *testing.T, path string) map[string]any {
	t.Helper()
	var m map[string]any
	if err := yaml.Unmarshal([]byte(mustRead(t, path)), &m); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return m
}

func mustRead(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestTheCommentWorkflowBelievesOnlyTheEventsPullRequest: the comment
// half of the action (mode: comment) takes the pull request number from an
// artifact the pull request's run (a fork's code) wrote; it posts only when
// that number is the workflow_run event's own pull request and that pull
// request's head is the event's head_sha and repository, and otherwise
// fails, posting nothing. Its script runs with a stub gh for each case.
func TestTheCommentWorkflowBelievesOnlyTheEventsPullRequest(t *testing.T) {
	var step map[string]any
	for _, s := range actionSteps(t, readYAML(t, "../../action.yml")) {
		if run, ok := s.(map[string]any)["run"].(string); ok && strings.Contains(run, "pr-number") && strings.Contains(run, "gh api") {
			step = s.(map[string]any)
		}
	}
	if step == nil {
		t.Fatal("no step reads the artifact's pr-number")
	}
	if cond, _ := step["if"].(string); !strings.Contains(cond, "github.event.workflow_run.event == 'pull_request'") {
		t.Errorf("the comment step runs for workflow_run events of %q", cond)
	}
	env, _ := step["env"].(map[string]any)
	for k, want := range map[string]string{
		"EVENT_PR":  "${{ github.event.workflow_run.pull_requests[0].number }}",
		"HEAD_SHA":  "${{ github.event.workflow_run.head_sha }}",
		"HEAD_REPO": "${{ github.event.workflow_run.head_repository.full_name }}",
	} {
		if env[k] != want {
			t.Errorf("the step's %s is %v, want %s", k, env[k], want)
		}
	}
	script := step["run"].(string)
	if strings.Contains(script, "${{") {
		t.Error("the script interpolates expressions; it must read them from env")
	}
	for _, c := range []struct {
		name, artifact, eventPR, pulls, existing string
		wantExit                                 int
		wantWrite                                string
	}{
		{"the event's own pull request is commented on", "7", "7", "7 abc o/r", "", 0, "POST repos/o/r/issues/7/comments"},
		{"a later push edits the one comment", "7", "7", "7 abc o/r", "55", 0, "PATCH repos/o/r/issues/comments/55"},
		{"an artifact naming another pull request posts nothing", "8", "7", "8 abc o/r", "", 1, ""},
		{"a fork (no pull_requests) naming a pull request of another head posts nothing", "8", "", "8 zzz o/r", "", 1, ""},
		{"a fork naming a pull request of the same commit from another repository posts nothing", "8", "", "8 abc o/r", "", 1, ""},
		{"a fork's pull request whose head is the planned commit is commented on", "9", "", "9 abc fork/r", "", 0, "POST repos/o/r/issues/9/comments"},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			if err := os.MkdirAll(filepath.Join(dir, "secretsync-out"), 0o755); err != nil {
				t.Fatal(err)
			}
			for name, body := range map[string]string{"secretsync-out/pr-number": c.artifact + "\n", "secretsync-out/plan.md": "plan\n", "pulls": c.pulls + "\n", "existing": c.existing} {
				if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			gh := `case "$*" in
*"-X POST"*|*"-X PATCH"*) echo "$3 $4" >> "$STUB_DIR/calls";;
*/pulls/*) n="${2##*/}"; grep "^$n " "$STUB_DIR/pulls" | cut -d' ' -f2-;;
*/comments*) cat "$STUB_DIR/existing";;
esac
exit 0
`
			if err := os.WriteFile(filepath.Join(dir, "gh"), []byte("#!/bin/sh\n"+gh), 0o755); err != nil {
				t.Fatal(err)
			}
			head := "abc fork/r"
			if c.eventPR != "" {
				head = "abc o/r"
			}
			sha, repo, _ := strings.Cut(head, " ")
			cmd := exec.Command("bash", "-e", "-c", script)
			cmd.Dir = dir
			cmd.Env = []string{"PATH=" + dir + ":/usr/bin:/bin", "STUB_DIR=" + dir, "REPO=o/r", "EVENT_PR=" + c.eventPR, "HEAD_SHA=" + sha, "HEAD_REPO=" + repo}
			out, err := cmd.CombinedOutput()
			code := 0
			if ee, ok := err.(*exec.ExitError); ok {
				code = ee.ExitCode()
			} else if err != nil {
				t.Fatal(err)
			}
			calls, _ := os.ReadFile(filepath.Join(dir, "calls"))
			if code != c.wantExit || strings.TrimSpace(string(calls)) != c.wantWrite {
				t.Fatalf("exit %d (want %d), writes %q (want %q)\n%s", code, c.wantExit, calls, c.wantWrite, out)
			}
		})
	}
}

// TestTheActionsPlanStepRunsBothAndKeepsTheirCodes runs the action's
// validate-and-plan script with a stub secretsync: validate's findings do
// not stop the plan, both exit codes reach the step's outputs, the
// artifact holds the pull request's number and the plan, and a failed plan
// leaves its reason in plan.md instead of an empty comment.
func TestTheActionsPlanStepRunsBothAndKeepsTheirCodes(t *testing.T) {
	var step map[string]any
	for _, s := range actionSteps(t, readYAML(t, "../../action.yml")) {
		if s.(map[string]any)["id"] == "review" {
			step = s.(map[string]any)
		}
	}
	if step == nil {
		t.Fatal("action.yml has no review step")
	}
	for _, c := range []struct {
		name, validate, plan, wantOutputs, wantPlan string
	}{
		{"findings: validate fails, the plan is still made", "1", "0", "validate=1\nplan=0\n", "plan of clusters/prod --base origin/main"},
		{"a failed plan says why", "0", "2", "validate=0\nplan=2\n", "secretsync plan failed for abc123:\n```\nrender: broken.yaml: bad\n```\n"},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			writeFile(t, filepath.Join(dir, "bin", "secretsync"), `#!/bin/sh
case "$1" in
validate) echo "validate $*" >> "$RUNNER_TEMP/calls"; exit "$STUB_VALIDATE";;
plan) [ "$STUB_PLAN" -le 1 ] && echo "plan of $2 $3 $4"; [ "$STUB_PLAN" -gt 1 ] && echo "render: broken.yaml: bad" >&2; exit "$STUB_PLAN";;
esac`)
			if err := os.Chmod(filepath.Join(dir, "bin", "secretsync"), 0o755); err != nil {
				t.Fatal(err)
			}
			cmd := exec.Command("bash", "-e", "-c", step["run"].(string))
			cmd.Dir = dir
			cmd.Env = []string{"PATH=/usr/bin:/bin", "BIN_DIR=" + filepath.Join(dir, "bin"), "RUNNER_TEMP=" + dir, "GITHUB_OUTPUT=" + filepath.Join(dir, "output"),
				"REVIEW_PATH=clusters/prod", "BASE=origin/main", "PR=42", "HEAD_SHA=abc123", "STUB_VALIDATE=" + c.validate, "STUB_PLAN=" + c.plan}
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("the step failed: %v\n%s", err, out)
			}
			for file, want := range map[string]string{
				"output": c.wantOutputs, "secretsync-out/pr-number": "42\n", "calls": "validate validate clusters/prod --base origin/main -o github\n",
			} {
				if got := mustRead(t, filepath.Join(dir, file)); got != want {
					t.Errorf("%s: %q, want %q", file, got, want)
				}
			}
			if got := mustRead(t, filepath.Join(dir, "secretsync-out", "plan.md")); !strings.HasPrefix(got, c.wantPlan) {
				t.Errorf("plan.md: %q, want %q", got, c.wantPlan)
			}
		})
	}
}

// TestTheActionRunsEachModeOnlyOnItsEvent: plan mode, which runs the pull
// request's files, refuses every event but pull_request (pull_request_target
// would run them with a token that can write), and comment mode, which can
// write, every event but workflow_run.
func TestTheActionRunsEachModeOnlyOnItsEvent(t *testing.T) {
	first := actionSteps(t, readYAML(t, "../../action.yml"))[0].(map[string]any)
	for _, c := range []struct {
		mode, event string
		ok          bool
	}{
		{"plan", "pull_request", true},
		{"comment", "workflow_run", true},
		{"plan", "pull_request_target", false},
		{"plan", "workflow_run", false},
		{"comment", "pull_request", false},
		{"comment", "pull_request_target", false},
		{"both", "pull_request", false},
	} {
		cmd := exec.Command("bash", "-e", "-c", first["run"].(string))
		cmd.Env = []string{"PATH=/usr/bin:/bin", "MODE=" + c.mode, "EVENT=" + c.event}
		out, err := cmd.CombinedOutput()
		if (err == nil) != c.ok {
			t.Errorf("mode %s on %s: %v, want ok=%v\n%s", c.mode, c.event, err, c.ok, out)
		}
	}
}
