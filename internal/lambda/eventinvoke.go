package lambda

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/fogbank/fogbank/internal/protocol"
	"github.com/fogbank/fogbank/internal/service"
	"github.com/fogbank/fogbank/internal/storage"
)

// Async invocation defaults.
const (
	defaultMaxRetries = 2
	defaultMaxAge     = 6 * time.Hour
)

// eventConfig is a function's (or qualifier's) EventInvokeConfig.
type eventConfig struct {
	Qualifier  string    `json:"qualifier"`
	MaxRetries *int      `json:"maxRetries,omitempty"`
	MaxAgeSec  *int      `json:"maxAgeSec,omitempty"`
	OnSuccess  string    `json:"onSuccess,omitempty"`
	OnFailure  string    `json:"onFailure,omitempty"`
	Modified   time.Time `json:"modified"`
}

func (e eventConfig) retries() int {
	if e.MaxRetries == nil {
		return defaultMaxRetries
	}
	return *e.MaxRetries
}

func (e eventConfig) maxAge() time.Duration {
	if e.MaxAgeSec == nil {
		return defaultMaxAge
	}
	return time.Duration(*e.MaxAgeSec) * time.Second
}

type destinationIn struct {
	Destination *string `json:"Destination"`
}

type eventConfigIn struct {
	MaximumRetryAttempts     *int `json:"MaximumRetryAttempts"`
	MaximumEventAgeInSeconds *int `json:"MaximumEventAgeInSeconds"`
	DestinationConfig        *struct {
		OnSuccess *destinationIn `json:"OnSuccess"`
		OnFailure *destinationIn `json:"OnFailure"`
	} `json:"DestinationConfig"`
}

func (e eventConfig) wire(ref fnRef) map[string]any {
	q := e.Qualifier
	out := map[string]any{"FunctionArn": ref.arn() + ":" + q, "LastModified": protocol.EpochSeconds(e.Modified)}
	if e.MaxRetries != nil {
		out["MaximumRetryAttempts"] = *e.MaxRetries
	}
	if e.MaxAgeSec != nil {
		out["MaximumEventAgeInSeconds"] = *e.MaxAgeSec
	}
	dc := map[string]any{}
	if e.OnSuccess != "" {
		dc["OnSuccess"] = map[string]string{"Destination": e.OnSuccess}
	} else {
		dc["OnSuccess"] = map[string]string{}
	}
	if e.OnFailure != "" {
		dc["OnFailure"] = map[string]string{"Destination": e.OnFailure}
	} else {
		dc["OnFailure"] = map[string]string{}
	}
	out["DestinationConfig"] = dc
	return out
}

// eicRef resolves the function and qualifier of an event invoke config call.
func (s *Service) eicRef(ctx context.Context, r *http.Request, call *service.Call) (fnRef, error) {
	ref, err := s.fnRefFrom(r, call, false)
	if err != nil {
		return ref, err
	}
	if ref.Qualifier == "" {
		ref.Qualifier = latest
	}
	return ref, nil
}

func (s *Service) validateDestination(ctx context.Context, ref fnRef, dest string, success bool) error {
	if dest == "" {
		return nil
	}
	svc, region, account, res, ok := parseARN(dest)
	if !ok {
		return errValidation("1 validation error detected: Value '%s' at 'destinationConfig.onFailure.destination' failed to satisfy constraint: Member must satisfy regular expression pattern: $|kafka://([^.]([a-zA-Z0-9\\-_.]{0,248}))|arn:(aws[a-zA-Z0-9-]*):([a-zA-Z0-9\\-])+:((eusc-)?[a-z]{2}((-gov)|(-iso([a-z]?)))?-[a-z]+-\\d{1})?:(\\d{12})?:(.*)", dest)
	}
	switch svc {
	case "sqs", "sns", "events":
		return nil
	case "lambda":
		other, err := parseFunctionName(&service.Call{Account: account, Region: region}, "arn:aws:lambda:"+region+":"+account+":"+res, "", true)
		if err != nil {
			return errInvalidParam("The destination ARN %s is invalid.", dest)
		}
		if other.Name == ref.Name && account == ref.Account && region == ref.Region {
			return errInvalidParam("You can't specify the function as a destination for itself.")
		}
		if _, _, err := s.loadFunction(ctx, other); err != nil {
			return errInvalidParam("The destination ARN %s is invalid.", dest)
		}
		return nil
	}
	if success {
		return errInvalidParam("The provided destination config DestinationConfig(onSuccess=OnSuccess(destination=%s), onFailure=null) is invalid.", dest)
	}
	return errInvalidParam("The provided destination config DestinationConfig(onSuccess=null, onFailure=OnFailure(destination=%s)) is invalid.", dest)
}

func (s *Service) applyEventConfig(ctx context.Context, ref fnRef, e *eventConfig, in *eventConfigIn) error {
	if in.MaximumRetryAttempts == nil && in.MaximumEventAgeInSeconds == nil && in.DestinationConfig == nil {
		return errInvalidParam("You must specify at least one of error handling or destination setting.")
	}
	if v := in.MaximumRetryAttempts; v != nil {
		if *v < 0 || *v > 2 {
			return errValidation("1 validation error detected: Value '%d' at 'maximumRetryAttempts' failed to satisfy constraint: Member must have value less than or equal to 2", *v)
		}
		e.MaxRetries = v
	}
	if v := in.MaximumEventAgeInSeconds; v != nil {
		if *v < 60 {
			return errValidation("1 validation error detected: Value '%d' at 'maximumEventAgeInSeconds' failed to satisfy constraint: Member must have value greater than or equal to 60", *v)
		}
		if *v > 21600 {
			return errValidation("1 validation error detected: Value '%d' at 'maximumEventAgeInSeconds' failed to satisfy constraint: Member must have value less than or equal to 21600", *v)
		}
		e.MaxAgeSec = v
	}
	if dc := in.DestinationConfig; dc != nil {
		if dc.OnSuccess != nil && dc.OnSuccess.Destination != nil {
			if err := s.validateDestination(ctx, ref, *dc.OnSuccess.Destination, true); err != nil {
				return err
			}
			e.OnSuccess = *dc.OnSuccess.Destination
		}
		if dc.OnFailure != nil && dc.OnFailure.Destination != nil {
			if err := s.validateDestination(ctx, ref, *dc.OnFailure.Destination, false); err != nil {
				return err
			}
			e.OnFailure = *dc.OnFailure.Destination
		}
	}
	return nil
}

func (s *Service) checkQualifierExists(ctx context.Context, ref fnRef) error {
	if _, _, err := s.loadFunction(ctx, ref); err != nil {
		return errNotFound("The function doesn't exist.")
	}
	if ref.Qualifier != latest {
		if _, err := s.resolve(ctx, ref); err != nil {
			return err
		}
	}
	return nil
}

func (s *Service) writeEventConfig(w http.ResponseWriter, r *http.Request, call *service.Call, merge bool) error {
	ctx := r.Context()
	ref, err := s.eicRef(ctx, r, call)
	if err != nil {
		return err
	}
	var in eventConfigIn
	if err := protocol.DecodeJSON(r, &in); err != nil {
		return err
	}
	if err := s.checkQualifierExists(ctx, ref); err != nil {
		return err
	}
	key := ref.key() + "/" + ref.Qualifier
	e := eventConfig{Qualifier: ref.Qualifier}
	ver := storage.AnyVersion
	if merge {
		old, v, err := loadJSON[eventConfig](ctx, s.deps.Meta, nsEventConfig, key, func() error {
			return errNotFound("The function %s doesn't have an EventInvokeConfig", ref.qualifiedARN())
		})
		if err != nil {
			return err
		}
		e, ver = old, v
	}
	if err := s.applyEventConfig(ctx, ref, &e, &in); err != nil {
		return err
	}
	e.Modified = call.Time
	if _, err := storage.PutJSON(ctx, s.deps.Meta, nsEventConfig, key, e, ver); err != nil {
		return err
	}
	s.codec.WriteJSON(w, http.StatusOK, e.wire(ref))
	return nil
}

func (s *Service) putEventInvokeConfig(w http.ResponseWriter, r *http.Request, call *service.Call) error {
	return s.writeEventConfig(w, r, call, false)
}

func (s *Service) updateEventInvokeConfig(w http.ResponseWriter, r *http.Request, call *service.Call) error {
	return s.writeEventConfig(w, r, call, true)
}

func (s *Service) getEventInvokeConfig(w http.ResponseWriter, r *http.Request, call *service.Call) error {
	ctx := r.Context()
	ref, err := s.eicRef(ctx, r, call)
	if err != nil {
		return err
	}
	e, _, err := loadJSON[eventConfig](ctx, s.deps.Meta, nsEventConfig, ref.key()+"/"+ref.Qualifier, func() error {
		return errNotFound("The function %s doesn't have an EventInvokeConfig", ref.qualifiedARN())
	})
	if err != nil {
		return err
	}
	s.codec.WriteJSON(w, http.StatusOK, e.wire(ref))
	return nil
}

func (s *Service) deleteEventInvokeConfig(w http.ResponseWriter, r *http.Request, call *service.Call) error {
	ctx := r.Context()
	ref, err := s.eicRef(ctx, r, call)
	if err != nil {
		return err
	}
	if _, _, err := s.loadFunction(ctx, ref); err != nil {
		return errNotFound("The function %s doesn't have an EventInvokeConfig", ref.qualifiedARN())
	}
	if err := s.deps.Meta.Delete(ctx, nsEventConfig, ref.key()+"/"+ref.Qualifier, storage.AnyVersion); err != nil {
		if errors.Is(err, storage.ErrNotFound) {
			return errNotFound("The function %s doesn't have an EventInvokeConfig", ref.qualifiedARN())
		}
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Service) listEventInvokeConfigs(w http.ResponseWriter, r *http.Request, call *service.Call) error {
	ctx := r.Context()
	ref, err := parseFunctionName(call, r.PathValue("name"), "", false)
	if err != nil {
		return err
	}
	if _, _, err := s.loadFunction(ctx, ref); err != nil {
		return errNotFound("The function doesn't exist.")
	}
	es, _, err := storage.ListJSON[eventConfig](ctx, s.deps.Meta, nsEventConfig, ref.key()+"/")
	if err != nil {
		return err
	}
	items := []map[string]any{}
	for _, e := range es {
		items = append(items, e.wire(ref))
	}
	s.codec.WriteJSON(w, http.StatusOK, map[string]any{"FunctionEventInvokeConfigs": items})
	return nil
}
