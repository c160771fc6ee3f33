package lambda

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"regexp"

	"github.com/fogbank/fogbank/internal/protocol"
	"github.com/fogbank/fogbank/internal/service"
	"github.com/fogbank/fogbank/internal/storage"
)

// policyStmt is one statement of a function's resource policy, stored with
// the qualifier it applies to.
type policyStmt struct {
	Qualifier string          `json:"qualifier,omitempty"`
	Sid       string          `json:"sid"`
	Statement json.RawMessage `json:"statement"`
}

var sidRE = regexp.MustCompile(`^[a-zA-Z0-9-_]+$`)

type permissionInput struct {
	StatementId         string `json:"StatementId"`
	Action              string `json:"Action"`
	Principal           string `json:"Principal"`
	SourceArn           string `json:"SourceArn"`
	SourceAccount       string `json:"SourceAccount"`
	EventSourceToken    string `json:"EventSourceToken"`
	PrincipalOrgID      string `json:"PrincipalOrgID"`
	FunctionUrlAuthType string `json:"FunctionUrlAuthType"`
	RevisionId          string `json:"RevisionId"`
}

var principalRE = regexp.MustCompile(`^(\*|[0-9]{12}|arn:aws[a-zA-Z-]*:iam::[0-9]{12}:[^\s]+|[a-z0-9.-]+\.amazonaws\.com|[a-z0-9.-]+\.amazon\.com)$`)

func (s *Service) addPermission(w http.ResponseWriter, r *http.Request, call *service.Call) error {
	ref, err := s.fnRefFrom(r, call, false)
	if err != nil {
		return err
	}
	var in permissionInput
	if err := protocol.DecodeJSON(r, &in); err != nil {
		return err
	}
	if !sidRE.MatchString(in.StatementId) {
		return errValidationPattern(in.StatementId, "statementId", "([a-zA-Z0-9-_]+)")
	}
	if ref.Qualifier == latest {
		return errInvalidParam("We currently do not support adding policies for $LATEST.")
	}
	if !principalRE.MatchString(in.Principal) {
		return errInvalidParam("The provided principal was invalid. Please check the principal and try again.")
	}
	ctx := r.Context()
	unlock := s.lockFn(ref)
	defer unlock()
	res, err := s.resolve(ctx, ref)
	if err != nil {
		return err
	}
	fn, ver, err := s.loadFunction(ctx, ref)
	if err != nil {
		return err
	}
	_ = res
	if in.RevisionId != "" && in.RevisionId != fn.PolicyRevision {
		return errPrecondition("The Revision Id provided does not match the latest Revision Id. Call the GetPolicy API to retrieve the latest Revision Id")
	}
	for _, st := range fn.Policy {
		if st.Sid == in.StatementId && st.Qualifier == ref.Qualifier {
			return errConflict("The statement id (%s) provided already exists. Please provide a new statement id, or remove the existing statement.", in.StatementId)
		}
	}
	principal := any(map[string]string{"Service": in.Principal})
	switch {
	case in.Principal == "*":
		principal = "*"
	case len(in.Principal) == 12:
		principal = map[string]string{"AWS": "arn:aws:iam::" + in.Principal + ":root"}
	case len(in.Principal) > 4 && in.Principal[:4] == "arn:":
		principal = map[string]string{"AWS": in.Principal}
	}
	stmt := map[string]any{"Sid": in.StatementId, "Effect": "Allow", "Principal": principal,
		"Action": in.Action, "Resource": ref.qualifiedARN()}
	cond := map[string]any{}
	if in.SourceArn != "" {
		cond["ArnLike"] = map[string]string{"AWS:SourceArn": in.SourceArn}
	}
	equals := map[string]string{}
	if in.SourceAccount != "" {
		equals["AWS:SourceAccount"] = in.SourceAccount
	}
	if in.FunctionUrlAuthType != "" {
		equals["lambda:FunctionUrlAuthType"] = in.FunctionUrlAuthType
	}
	if in.PrincipalOrgID != "" {
		equals["aws:PrincipalOrgID"] = in.PrincipalOrgID
	}
	if len(equals) > 0 {
		cond["StringEquals"] = equals
	}
	if len(cond) > 0 {
		stmt["Condition"] = cond
	}
	raw, _ := json.Marshal(stmt)
	fn.Policy = append(fn.Policy, policyStmt{Qualifier: ref.Qualifier, Sid: in.StatementId, Statement: raw})
	fn.PolicyRevision = s.deps.IDs.UUID()
	if _, err := storage.PutJSON(ctx, s.deps.Meta, nsFunctions, ref.key(), fn, ver); err != nil {
		return err
	}
	s.codec.WriteJSON(w, http.StatusCreated, map[string]string{"Statement": string(raw)})
	return nil
}

func (s *Service) policyDoc(fn fnRecord, ref fnRef) (string, bool) {
	var stmts []json.RawMessage
	for _, st := range fn.Policy {
		if st.Qualifier == ref.Qualifier {
			stmts = append(stmts, st.Statement)
		}
	}
	if len(stmts) == 0 {
		return "", false
	}
	b, _ := json.Marshal(map[string]any{"Version": "2012-10-17", "Id": "default", "Statement": stmts})
	return string(b), true
}

func (s *Service) getPolicy(w http.ResponseWriter, r *http.Request, call *service.Call) error {
	ref, err := s.fnRefFrom(r, call, false)
	if err != nil {
		return err
	}
	ctx := r.Context()
	fn, _, err := s.loadFunction(ctx, ref)
	if err != nil {
		return errNotFound("No policy found for: %s", ref.qualifiedARN())
	}
	if ref.Qualifier != "" {
		if _, err := s.resolve(ctx, ref); err != nil {
			return err
		}
	}
	doc, ok := s.policyDoc(fn, ref)
	if !ok {
		return errNotFound("No policy is associated with the given resource.")
	}
	s.codec.WriteJSON(w, http.StatusOK, map[string]string{"Policy": doc, "RevisionId": fn.PolicyRevision})
	return nil
}

func (s *Service) removePermission(w http.ResponseWriter, r *http.Request, call *service.Call) error {
	ref, err := s.fnRefFrom(r, call, false)
	if err != nil {
		return err
	}
	sid := r.PathValue("sid")
	ctx := r.Context()
	unlock := s.lockFn(ref)
	defer unlock()
	fn, ver, err := s.loadFunction(ctx, ref)
	if err != nil {
		return err
	}
	if rev := r.URL.Query().Get("RevisionId"); rev != "" && rev != fn.PolicyRevision {
		return errPrecondition("The Revision Id provided does not match the latest Revision Id. Call the GetPolicy API to retrieve the latest Revision Id")
	}
	if _, ok := s.policyDoc(fn, ref); !ok {
		return errNotFound("No policy is associated with the given resource.")
	}
	kept := fn.Policy[:0]
	found := false
	for _, st := range fn.Policy {
		if st.Sid == sid && st.Qualifier == ref.Qualifier {
			found = true
			continue
		}
		kept = append(kept, st)
	}
	if !found {
		return errNotFound("Statement %s is not found in resource policy.", sid)
	}
	fn.Policy = kept
	fn.PolicyRevision = s.deps.IDs.UUID()
	if _, err := storage.PutJSON(ctx, s.deps.Meta, nsFunctions, ref.key(), fn, ver); err != nil {
		if errors.Is(err, storage.ErrConflict) {
			return errConflict("The operation cannot be performed at this time. An update is in progress for resource: %s", ref.arn())
		}
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

var _ = context.Background
