package smserver

import (
	"encoding/base64"
	"encoding/json"
	"sort"
	"strconv"
	"strings"
	"time"
)

type handler func(raw []byte) (any, error)

func (s *Server) ops() map[string]handler {
	return map[string]handler{
		"CreateSecret":             s.createSecret,
		"PutSecretValue":           s.putSecretValue,
		"GetSecretValue":           s.getSecretValue,
		"BatchGetSecretValue":      s.batchGetSecretValue,
		"DescribeSecret":           s.describeSecret,
		"ListSecrets":              s.listSecrets,
		"DeleteSecret":             s.deleteSecret,
		"RestoreSecret":            s.restoreSecret,
		"TagResource":              s.tagResource,
		"UntagResource":            s.untagResource,
		"UpdateSecretVersionStage": s.updateSecretVersionStage,
		"GetResourcePolicy":        s.getResourcePolicy,
		"PutResourcePolicy":        s.putResourcePolicy,
		"DeleteResourcePolicy":     s.deleteResourcePolicy,
	}
}

func decode(raw []byte, v any) error {
	if err := json.Unmarshal(raw, v); err != nil {
		return invalidParam("malformed request: " + err.Error())
	}
	return nil
}

type valueIn struct {
	SecretString       *string  `json:"SecretString"`
	SecretBinary       []byte   `json:"SecretBinary"`
	ClientRequestToken string   `json:"ClientRequestToken"`
	VersionStages      []string `json:"VersionStages"`
}

func (s *Server) addVersion(sec *secret, in valueIn, now time.Time) (*version, error) {
	if (in.SecretString == nil) == (in.SecretBinary == nil) {
		return nil, invalidParam("exactly one of SecretString and SecretBinary is required")
	}
	id := in.ClientRequestToken
	if id == "" {
		id = newVersionID()
	}
	if v, ok := sec.versions[id]; ok {
		return v, nil // idempotent retry of the same request
	}
	v := &version{id: id, str: in.SecretString, bin: in.SecretBinary, created: now}
	sec.versions[id] = v
	sec.order = append(sec.order, id)
	stages := in.VersionStages
	if len(stages) == 0 {
		stages = []string{StageCurrent}
	}
	for _, st := range stages {
		sec.moveStage(st, id)
	}
	sec.changed = now
	return v, nil
}

func (s *Server) createSecret(raw []byte) (any, error) {
	var in struct {
		valueIn
		Name        string `json:"Name"`
		Description string `json:"Description"`
		KmsKeyID    string `json:"KmsKeyId"`
		Tags        []tag  `json:"Tags"`
	}
	if err := decode(raw, &in); err != nil {
		return nil, err
	}
	if in.Name == "" {
		return nil, invalidParam("Name is required")
	}
	if _, ok := s.secrets[in.Name]; ok {
		return nil, &APIError{"ResourceExistsException", "The operation failed because the secret " + in.Name + " already exists.", 400}
	}
	now := time.Now()
	sec := &secret{
		name:        in.Name,
		arn:         "arn:aws:secretsmanager:" + s.Region + ":" + s.Account + ":secret:" + in.Name + "-" + randomHex(3),
		description: in.Description,
		kmsKeyID:    in.KmsKeyID,
		tags:        map[string]string{},
		versions:    map[string]*version{},
		created:     now,
		changed:     now,
	}
	for _, t := range in.Tags {
		sec.tags[t.Key] = t.Value
	}
	out := map[string]any{"ARN": sec.arn, "Name": sec.name}
	if in.SecretString != nil || in.SecretBinary != nil {
		v, err := s.addVersion(sec, in.valueIn, now)
		if err != nil {
			return nil, err
		}
		out["VersionId"] = v.id
	}
	s.secrets[in.Name] = sec
	return out, nil
}

func (s *Server) putSecretValue(raw []byte) (any, error) {
	var in struct {
		valueIn
		SecretID string `json:"SecretId"`
	}
	if err := decode(raw, &in); err != nil {
		return nil, err
	}
	sec, err := s.live(in.SecretID)
	if err != nil {
		return nil, err
	}
	v, err := s.addVersion(sec, in.valueIn, time.Now())
	if err != nil {
		return nil, err
	}
	return map[string]any{"ARN": sec.arn, "Name": sec.name, "VersionId": v.id, "VersionStages": v.stages}, nil
}

func (s *Server) getValue(id, versionID, stage string) (map[string]any, error) {
	sec, err := s.live(id)
	if err != nil {
		return nil, err
	}
	var v *version
	switch {
	case versionID != "":
		v = sec.versions[versionID]
		if v != nil && stage != "" && indexOf(v.stages, stage) < 0 {
			return nil, invalidParam("the version and stage you specified do not match")
		}
	default:
		if stage == "" {
			stage = StageCurrent
		}
		v = sec.versionByStage(stage)
	}
	if v == nil {
		return nil, &APIError{"ResourceNotFoundException", "Secrets Manager can't find the specified secret value for VersionId or VersionStage.", 400}
	}
	s.reads[sec.name]++
	return valueOut(sec, v), nil
}

func (s *Server) getSecretValue(raw []byte) (any, error) {
	var in struct {
		SecretID     string `json:"SecretId"`
		VersionID    string `json:"VersionId"`
		VersionStage string `json:"VersionStage"`
	}
	if err := decode(raw, &in); err != nil {
		return nil, err
	}
	return s.getValue(in.SecretID, in.VersionID, in.VersionStage)
}

type filter struct {
	Key    string   `json:"Key"`
	Values []string `json:"Values"`
}

// matches applies ListSecrets filters: each filter must match; within one,
// any value may match; values are prefixes, and a leading ! negates.
func (sec *secret) matches(filters []filter) bool {
	for _, f := range filters {
		matched := false
		for _, val := range f.Values {
			neg := strings.HasPrefix(val, "!")
			val = strings.TrimPrefix(val, "!")
			var hit bool
			switch f.Key {
			case "name":
				hit = strings.HasPrefix(sec.name, val)
			case "description":
				hit = strings.HasPrefix(sec.description, val)
			case "tag-key":
				for k := range sec.tags {
					hit = hit || strings.HasPrefix(k, val)
				}
			case "tag-value":
				for _, v := range sec.tags {
					hit = hit || strings.HasPrefix(v, val)
				}
			case "all":
				hit = strings.HasPrefix(sec.name, val) || strings.HasPrefix(sec.description, val)
				for k, v := range sec.tags {
					hit = hit || strings.HasPrefix(k, val) || strings.HasPrefix(v, val)
				}
			}
			if hit != neg {
				matched = true
			}
		}
		if !matched {
			return false
		}
	}
	return true
}

func validFilters(filters []filter) error {
	for _, f := range filters {
		switch f.Key {
		case "name", "description", "tag-key", "tag-value", "all":
		default:
			return invalidParam("unsupported filter key " + f.Key)
		}
	}
	return nil
}

// page returns the sorted names of secrets passing keep, one page at a time.
func (s *Server) page(keep func(*secret) bool, token string, max, limit int) ([]*secret, string, error) {
	names := make([]string, 0, len(s.secrets))
	for n, sec := range s.secrets {
		if keep(sec) {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	start := 0
	if token != "" {
		b, err := base64.StdEncoding.DecodeString(token)
		if err != nil {
			return nil, "", invalidParam("invalid NextToken")
		}
		if start, err = strconv.Atoi(string(b)); err != nil || start < 0 || start > len(names) {
			return nil, "", invalidParam("invalid NextToken")
		}
	}
	if max <= 0 || max > limit {
		max = limit
	}
	end := min(start+max, len(names))
	out := make([]*secret, 0, end-start)
	for _, n := range names[start:end] {
		out = append(out, s.secrets[n])
	}
	next := ""
	if end < len(names) {
		next = base64.StdEncoding.EncodeToString([]byte(strconv.Itoa(end)))
	}
	return out, next, nil
}

func (s *Server) listSecrets(raw []byte) (any, error) {
	var in struct {
		MaxResults             int      `json:"MaxResults"`
		NextToken              string   `json:"NextToken"`
		Filters                []filter `json:"Filters"`
		IncludePlannedDeletion bool     `json:"IncludePlannedDeletion"`
	}
	if err := decode(raw, &in); err != nil {
		return nil, err
	}
	if err := validFilters(in.Filters); err != nil {
		return nil, err
	}
	keep := func(sec *secret) bool {
		return (in.IncludePlannedDeletion || sec.deleted == nil) && sec.matches(in.Filters)
	}
	secs, next, err := s.page(keep, in.NextToken, in.MaxResults, 100)
	if err != nil {
		return nil, err
	}
	list := make([]map[string]any, 0, len(secs))
	for _, sec := range secs {
		d := sec.describe()
		d["SecretVersionsToStages"] = d["VersionIdsToStages"]
		delete(d, "VersionIdsToStages")
		list = append(list, d)
	}
	out := map[string]any{"SecretList": list}
	if next != "" {
		out["NextToken"] = next
	}
	return out, nil
}

func (s *Server) batchGetSecretValue(raw []byte) (any, error) {
	var in struct {
		SecretIDList []string `json:"SecretIdList"`
		Filters      []filter `json:"Filters"`
		MaxResults   int      `json:"MaxResults"`
		NextToken    string   `json:"NextToken"`
	}
	if err := decode(raw, &in); err != nil {
		return nil, err
	}
	if (len(in.SecretIDList) == 0) == (len(in.Filters) == 0) {
		return nil, invalidParam("exactly one of SecretIdList and Filters is required")
	}
	values := []map[string]any{}
	errs := []map[string]string{}
	if len(in.SecretIDList) > 0 {
		if len(in.SecretIDList) > 20 {
			return nil, invalidParam("SecretIdList takes at most 20 ids")
		}
		for _, id := range in.SecretIDList {
			if s.fault != nil {
				// Per-secret faults: throttling or a 5xx fails the whole
				// call, anything else is reported for that id alone.
				if err := s.fault("BatchGetSecretValue", id); err != nil {
					e := asAPIError(err)
					if e.Status >= 500 || e.Code == ErrThrottled.Code {
						return nil, e
					}
					errs = append(errs, map[string]string{"SecretId": id, "ErrorCode": e.Code, "Message": e.Message})
					continue
				}
			}
			v, err := s.getValue(id, "", "")
			if err != nil {
				e := asAPIError(err)
				errs = append(errs, map[string]string{"SecretId": id, "ErrorCode": e.Code, "Message": e.Message})
				continue
			}
			values = append(values, v)
		}
		return map[string]any{"SecretValues": values, "Errors": errs}, nil
	}
	if err := validFilters(in.Filters); err != nil {
		return nil, err
	}
	keep := func(sec *secret) bool { return sec.deleted == nil && sec.matches(in.Filters) }
	secs, next, err := s.page(keep, in.NextToken, in.MaxResults, 20)
	if err != nil {
		return nil, err
	}
	for _, sec := range secs {
		if v := sec.versionByStage(StageCurrent); v != nil {
			values = append(values, valueOut(sec, v))
		}
	}
	out := map[string]any{"SecretValues": values, "Errors": errs}
	if next != "" {
		out["NextToken"] = next
	}
	return out, nil
}

func (s *Server) describeSecret(raw []byte) (any, error) {
	var in struct {
		SecretID string `json:"SecretId"`
	}
	if err := decode(raw, &in); err != nil {
		return nil, err
	}
	sec, err := s.lookup(in.SecretID)
	if err != nil {
		return nil, err
	}
	return sec.describe(), nil
}

func (s *Server) deleteSecret(raw []byte) (any, error) {
	var in DeleteRequest
	if err := decode(raw, &in); err != nil {
		return nil, err
	}
	s.lastDelete = &in
	sec, err := s.lookup(in.SecretID)
	if err != nil {
		return nil, err
	}
	now := time.Now()
	if in.ForceDeleteWithoutRecovery != nil && *in.ForceDeleteWithoutRecovery {
		delete(s.secrets, sec.name)
		return map[string]any{"ARN": sec.arn, "Name": sec.name, "DeletionDate": epoch(now)}, nil
	}
	days := 30 // AWS's window when the caller names none
	if in.RecoveryWindowInDays != nil && *in.RecoveryWindowInDays != 0 {
		days = int(*in.RecoveryWindowInDays)
	}
	sec.deleted = &now
	return map[string]any{"ARN": sec.arn, "Name": sec.name, "DeletionDate": epoch(now.AddDate(0, 0, days))}, nil
}

func (s *Server) restoreSecret(raw []byte) (any, error) {
	var in struct {
		SecretID string `json:"SecretId"`
	}
	if err := decode(raw, &in); err != nil {
		return nil, err
	}
	sec, err := s.lookup(in.SecretID)
	if err != nil {
		return nil, err
	}
	sec.deleted = nil
	return map[string]any{"ARN": sec.arn, "Name": sec.name}, nil
}

func (s *Server) tagResource(raw []byte) (any, error) {
	var in struct {
		SecretID string `json:"SecretId"`
		Tags     []tag  `json:"Tags"`
	}
	if err := decode(raw, &in); err != nil {
		return nil, err
	}
	sec, err := s.live(in.SecretID)
	if err != nil {
		return nil, err
	}
	for _, t := range in.Tags {
		sec.tags[t.Key] = t.Value
	}
	return map[string]any{}, nil
}

func (s *Server) untagResource(raw []byte) (any, error) {
	var in struct {
		SecretID string   `json:"SecretId"`
		TagKeys  []string `json:"TagKeys"`
	}
	if err := decode(raw, &in); err != nil {
		return nil, err
	}
	sec, err := s.live(in.SecretID)
	if err != nil {
		return nil, err
	}
	for _, k := range in.TagKeys {
		delete(sec.tags, k)
	}
	return map[string]any{}, nil
}

func (s *Server) updateSecretVersionStage(raw []byte) (any, error) {
	var in struct {
		SecretID            string `json:"SecretId"`
		VersionStage        string `json:"VersionStage"`
		MoveToVersionID     string `json:"MoveToVersionId"`
		RemoveFromVersionID string `json:"RemoveFromVersionId"`
	}
	if err := decode(raw, &in); err != nil {
		return nil, err
	}
	sec, err := s.live(in.SecretID)
	if err != nil {
		return nil, err
	}
	if in.VersionStage == "" {
		return nil, invalidParam("VersionStage is required")
	}
	if in.MoveToVersionID != "" {
		if _, ok := sec.versions[in.MoveToVersionID]; !ok {
			return nil, notFound()
		}
		sec.moveStage(in.VersionStage, in.MoveToVersionID)
	} else {
		sec.removeStage(in.VersionStage, in.RemoveFromVersionID)
	}
	sec.changed = time.Now()
	return map[string]any{"ARN": sec.arn, "Name": sec.name}, nil
}
