package smserver

import (
	"bytes"
	"encoding/json"
	"net/http"
)

// maxPolicyLen is AWS's bound on a resource policy's length.
const maxPolicyLen = 20480

func (s *Server) getResourcePolicy(raw []byte) (any, error) {
	var in struct {
		SecretID string `json:"SecretId"`
	}
	if err := decode(raw, &in); err != nil {
		return nil, err
	}
	sec, err := s.live(in.SecretID)
	if err != nil {
		return nil, err
	}
	out := map[string]any{"ARN": sec.arn, "Name": sec.name}
	if sec.policy != "" {
		out["ResourcePolicy"] = sec.policy
	}
	return out, nil
}

// putResourcePolicy keeps the policy compacted, so that what Get returns
// differs in form from what was put, as AWS's may: a caller must compare
// policies as JSON, not as text.
func (s *Server) putResourcePolicy(raw []byte) (any, error) {
	var in struct {
		SecretID          string `json:"SecretId"`
		ResourcePolicy    string `json:"ResourcePolicy"`
		BlockPublicPolicy bool   `json:"BlockPublicPolicy"`
	}
	if err := decode(raw, &in); err != nil {
		return nil, err
	}
	sec, err := s.live(in.SecretID)
	if err != nil {
		return nil, err
	}
	var doc map[string]any
	var buf bytes.Buffer
	if len(in.ResourcePolicy) > maxPolicyLen || json.Unmarshal([]byte(in.ResourcePolicy), &doc) != nil || json.Compact(&buf, []byte(in.ResourcePolicy)) != nil {
		return nil, &APIError{"MalformedPolicyDocumentException", "The policy document you provided isn't valid.", http.StatusBadRequest}
	}
	if in.BlockPublicPolicy && public(doc) {
		return nil, &APIError{"PublicPolicyException", "The BlockPublicPolicy parameter is set to true and the resource policy did not prevent broad access to the secret.", http.StatusBadRequest}
	}
	sec.policy = buf.String()
	return map[string]any{"ARN": sec.arn, "Name": sec.name}, nil
}

func (s *Server) deleteResourcePolicy(raw []byte) (any, error) {
	var in struct {
		SecretID string `json:"SecretId"`
	}
	if err := decode(raw, &in); err != nil {
		return nil, err
	}
	sec, err := s.live(in.SecretID)
	if err != nil {
		return nil, err
	}
	sec.policy = ""
	return map[string]any{"ARN": sec.arn, "Name": sec.name}, nil
}

// public is a rough stand-in for AWS's check under BlockPublicPolicy: an
// Allow statement whose principal is anyone ("*" or {"AWS": "*"}) and that
// has no Condition.
func public(doc map[string]any) bool {
	var stmts []any
	switch st := doc["Statement"].(type) {
	case []any:
		stmts = st
	case map[string]any:
		stmts = []any{st}
	}
	for _, e := range stmts {
		st, _ := e.(map[string]any)
		if st["Effect"] != "Allow" || st["Condition"] != nil {
			continue
		}
		if anyone(st["Principal"]) {
			return true
		}
	}
	return false
}

func anyone(p any) bool {
	switch p := p.(type) {
	case string:
		return p == "*"
	case map[string]any:
		switch aws := p["AWS"].(type) {
		case string:
			return aws == "*"
		case []any:
			for _, a := range aws {
				if a == "*" {
					return true
				}
			}
		}
	}
	return false
}
