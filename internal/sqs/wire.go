package sqs

import (
	"encoding/base64"
	"encoding/json"
	"encoding/xml"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/fogbank/fogbank/internal/protocol"
)

// intParam is an optional integer request member. awsJson sends numbers and
// awsQuery sends strings; both decode here, and a value that is not an
// integer is kept (Bad) so the operation can answer with SQS's message.
type intParam struct {
	Set bool
	V   int64
	Raw string
	Bad bool
}

// UnmarshalJSON accepts a JSON number, a numeric string or null.
func (p *intParam) UnmarshalJSON(b []byte) error {
	s := strings.TrimSpace(string(b))
	if s == "null" {
		return nil
	}
	if strings.HasPrefix(s, `"`) {
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
	}
	p.Set, p.Raw = true, s
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		p.Bad = true
		return nil
	}
	p.V = v
	return nil
}

// MessageAttributeValue is one message attribute (user or system), as the
// SQS API carries it. DataType is String, Number or Binary, optionally with
// a custom suffix ("Number.float"); String and Number use StringValue,
// Binary uses BinaryValue.
type MessageAttributeValue struct {
	DataType         string   `json:"DataType"`
	StringValue      string   `json:"StringValue,omitempty"`
	BinaryValue      []byte   `json:"BinaryValue,omitempty"`
	StringListValues []string `json:"StringListValues,omitempty"`
	BinaryListValues [][]byte `json:"BinaryListValues,omitempty"`
}

// Request shapes, named as the awsJson members are. The awsQuery decoder
// produces the same JSON documents from form parameters.

type createQueueInput struct {
	QueueName  *string
	Attributes map[string]string
	Tags       map[string]string `json:"tags"`
}

// queueURLInput is the QueueUrl member; the request shapes of operations
// on one queue embed it (see decodeQueue).
type queueURLInput struct {
	QueueUrl *string
}

// queueURL returns the QueueUrl member.
func (in *queueURLInput) queueURL() *string { return in.QueueUrl }

type getQueueURLInput struct {
	QueueName              *string
	QueueOwnerAWSAccountId string
}

type listQueuesInput struct {
	QueueNamePrefix string
	NextToken       string
	MaxResults      intParam
}

type getQueueAttributesInput struct {
	queueURLInput
	AttributeNames []string
}

type setQueueAttributesInput struct {
	queueURLInput
	Attributes map[string]string
}

type tagQueueInput struct {
	queueURLInput
	Tags map[string]string
}

type untagQueueInput struct {
	queueURLInput
	TagKeys []string
}

type sendEntry struct {
	Id                      *string
	MessageBody             *string
	DelaySeconds            intParam
	MessageAttributes       map[string]MessageAttributeValue
	MessageSystemAttributes map[string]MessageAttributeValue
	MessageDeduplicationId  *string
	MessageGroupId          *string
}

type sendMessageInput struct {
	queueURLInput
	sendEntry
}

type sendMessageBatchInput struct {
	queueURLInput
	Entries []sendEntry
}

type receiveMessageInput struct {
	queueURLInput
	AttributeNames              []string
	MessageSystemAttributeNames []string
	MessageAttributeNames       []string
	MaxNumberOfMessages         intParam
	VisibilityTimeout           intParam
	WaitTimeSeconds             intParam
	ReceiveRequestAttemptId     *string
}

type deleteMessageInput struct {
	queueURLInput
	ReceiptHandle *string
}

type receiptEntry struct {
	Id                *string
	ReceiptHandle     *string
	VisibilityTimeout intParam
}

type batchReceiptInput struct {
	queueURLInput
	Entries []receiptEntry
}

type changeVisibilityInput struct {
	queueURLInput
	ReceiptHandle     *string
	VisibilityTimeout intParam
}

type listDLSourcesInput struct {
	queueURLInput
	NextToken  string
	MaxResults intParam
}

type startMoveInput struct {
	SourceArn                    *string
	DestinationArn               string
	MaxNumberOfMessagesPerSecond intParam
}

type listMovesInput struct {
	SourceArn  *string
	MaxResults intParam
}

type cancelMoveInput struct {
	TaskHandle *string
}

type addPermissionInput struct {
	queueURLInput
	Label         *string
	AWSAccountIds []string
	Actions       []string
}

type removePermissionInput struct {
	queueURLInput
	Label *string
}

// Query decoding. SQS's awsQuery lists and maps are flattened:
// "AttributeName.1", "Attribute.1.Name"/"Attribute.1.Value",
// "Tag.1.Key"/"Tag.1.Value", "MessageAttribute.1.Name"/
// "MessageAttribute.1.Value.StringValue", and batch entries
// "SendMessageBatchRequestEntry.1.MessageBody".

type qkind int

const (
	qList    qkind = iota + 1 // Name.N -> []string
	qNameMap                  // Name.N.Name / Name.N.Value -> map
	qKeyMap                   // Name.N.Key / Name.N.Value -> map
	qAttrMap                  // Name.N.Name / Name.N.Value.* -> map of attribute values
	qEntries                  // Name.N.<member> -> []object
)

type qfield struct {
	query, json string
	kind        qkind
}

// querySpecs lists, per operation, the indexed members; plain members
// ("QueueUrl", "MessageBody") are copied as they are.
var querySpecs = map[string][]qfield{
	"CreateQueue":        {{"Attribute", "Attributes", qNameMap}, {"Tag", "tags", qKeyMap}},
	"SetQueueAttributes": {{"Attribute", "Attributes", qNameMap}},
	"GetQueueAttributes": {{"AttributeName", "AttributeNames", qList}},
	"TagQueue":           {{"Tag", "Tags", qKeyMap}},
	"UntagQueue":         {{"TagKey", "TagKeys", qList}},
	"AddPermission":      {{"AWSAccountId", "AWSAccountIds", qList}, {"ActionName", "Actions", qList}},
	"SendMessage":        {{"MessageAttribute", "MessageAttributes", qAttrMap}, {"MessageSystemAttribute", "MessageSystemAttributes", qAttrMap}},
	"SendMessageBatch":   {{"SendMessageBatchRequestEntry", "Entries", qEntries}},
	"ReceiveMessage": {{"AttributeName", "AttributeNames", qList}, {"MessageSystemAttributeName", "MessageSystemAttributeNames", qList},
		{"MessageAttributeName", "MessageAttributeNames", qList}},
	"DeleteMessageBatch":           {{"DeleteMessageBatchRequestEntry", "Entries", qEntries}},
	"ChangeMessageVisibilityBatch": {{"ChangeMessageVisibilityBatchRequestEntry", "Entries", qEntries}},
}

// entrySpec is the indexed members of a batch entry.
var entrySpec = []qfield{{"MessageAttribute", "MessageAttributes", qAttrMap}, {"MessageSystemAttribute", "MessageSystemAttributes", qAttrMap}}

// queryDocument turns awsQuery parameters into the JSON document the
// awsJson protocol would carry for op.
func queryDocument(op string, vals url.Values) ([]byte, error) {
	doc, err := queryObject(vals, querySpecs[op])
	if err != nil {
		return nil, err
	}
	return json.Marshal(doc)
}

func queryObject(vals url.Values, spec []qfield) (map[string]any, error) {
	doc := map[string]any{}
	indexed := map[string]bool{}
	for _, f := range spec {
		indexed[f.query] = true
		v, err := queryField(vals, f)
		if err != nil {
			return nil, err
		}
		if v != nil {
			doc[f.json] = v
		}
	}
	for k, v := range vals {
		if len(v) == 0 || k == "Action" || k == "Version" {
			continue
		}
		head, _, dotted := strings.Cut(k, ".")
		if dotted || indexed[head] {
			continue
		}
		doc[k] = v[0]
	}
	return doc, nil
}

func queryField(vals url.Values, f qfield) (any, error) {
	idx := protocol.QueryIndexes(vals, f.query)
	if len(idx) == 0 {
		return nil, nil
	}
	p := f.query + "."
	switch f.kind {
	case qList:
		out := make([]string, 0, len(idx))
		for _, i := range idx {
			out = append(out, vals.Get(p+strconv.Itoa(i)))
		}
		return out, nil
	case qNameMap, qKeyMap:
		kn := "Name"
		if f.kind == qKeyMap {
			kn = "Key"
		}
		out := map[string]string{}
		for _, i := range idx {
			n := p + strconv.Itoa(i) + "."
			out[vals.Get(n+kn)] = vals.Get(n + "Value")
		}
		return out, nil
	case qAttrMap:
		out := map[string]any{}
		for _, i := range idx {
			n := p + strconv.Itoa(i) + "."
			v := map[string]any{}
			for _, m := range []string{"DataType", "StringValue", "BinaryValue"} {
				if x, ok := vals[n+"Value."+m]; ok && len(x) > 0 {
					v[m] = x[0]
				}
			}
			sub := subValues(vals, n+"Value.")
			if l, _ := queryField(sub, qfield{"StringListValue", "", qList}); l != nil {
				v["StringListValues"] = l
			}
			if l, _ := queryField(sub, qfield{"BinaryListValue", "", qList}); l != nil {
				v["BinaryListValues"] = l
			}
			out[vals.Get(n+"Name")] = v
		}
		return out, nil
	case qEntries:
		out := make([]any, 0, len(idx))
		for _, i := range idx {
			obj, err := queryObject(subValues(vals, p+strconv.Itoa(i)+"."), entrySpec)
			if err != nil {
				return nil, err
			}
			out = append(out, obj)
		}
		return out, nil
	}
	return nil, nil
}

// subValues returns the parameters under prefix, with prefix removed.
func subValues(vals url.Values, prefix string) url.Values {
	out := url.Values{}
	for k, v := range vals {
		if rest, ok := strings.CutPrefix(k, prefix); ok {
			out[rest] = v
		}
	}
	return out
}

// Response shapes. Field order is the XML element order; maps marshal as
// flattened name/value (or key/value) elements in query responses.

type queueURLOutput struct {
	QueueURL string `json:"QueueUrl" xml:"QueueUrl"`
}

type listQueuesOutput struct {
	QueueUrls []string `json:"QueueUrls,omitempty" xml:"QueueUrl"`
	NextToken string   `json:"NextToken,omitempty" xml:"NextToken,omitempty"`
}

type listDLSourcesOutput struct {
	QueueUrls []string `json:"queueUrls" xml:"QueueUrl"`
	NextToken string   `json:"NextToken,omitempty" xml:"NextToken,omitempty"`
}

type attributesOutput struct {
	Attributes nameValueMap `json:"Attributes,omitempty" xml:"Attribute"`
}

type tagsOutput struct {
	Tags keyValueMap `json:"Tags,omitempty" xml:"Tag"`
}

type sendMessageOutput struct {
	MD5OfMessageBody             string `json:"MD5OfMessageBody" xml:"MD5OfMessageBody"`
	MD5OfMessageAttributes       string `json:"MD5OfMessageAttributes,omitempty" xml:"MD5OfMessageAttributes,omitempty"`
	MD5OfMessageSystemAttributes string `json:"MD5OfMessageSystemAttributes,omitempty" xml:"MD5OfMessageSystemAttributes,omitempty"`
	MessageID                    string `json:"MessageId" xml:"MessageId"`
	SequenceNumber               string `json:"SequenceNumber,omitempty" xml:"SequenceNumber,omitempty"`
}

type sendBatchResultEntry struct {
	ID                           string `json:"Id" xml:"Id"`
	MessageID                    string `json:"MessageId" xml:"MessageId"`
	MD5OfMessageBody             string `json:"MD5OfMessageBody" xml:"MD5OfMessageBody"`
	MD5OfMessageAttributes       string `json:"MD5OfMessageAttributes,omitempty" xml:"MD5OfMessageAttributes,omitempty"`
	MD5OfMessageSystemAttributes string `json:"MD5OfMessageSystemAttributes,omitempty" xml:"MD5OfMessageSystemAttributes,omitempty"`
	SequenceNumber               string `json:"SequenceNumber,omitempty" xml:"SequenceNumber,omitempty"`
}

type batchErrorEntry struct {
	ID          string `json:"Id" xml:"Id"`
	SenderFault bool   `json:"SenderFault" xml:"SenderFault"`
	Code        string `json:"Code" xml:"Code"`
	Message     string `json:"Message,omitempty" xml:"Message,omitempty"`
}

type sendBatchOutput struct {
	Successful []sendBatchResultEntry `json:"Successful,omitempty" xml:"SendMessageBatchResultEntry"`
	Failed     []batchErrorEntry      `json:"Failed,omitempty" xml:"BatchResultErrorEntry"`
}

type idEntry struct {
	ID string `json:"Id" xml:"Id"`
}

type deleteBatchOutput struct {
	Successful []idEntry         `json:"Successful,omitempty" xml:"DeleteMessageBatchResultEntry"`
	Failed     []batchErrorEntry `json:"Failed,omitempty" xml:"BatchResultErrorEntry"`
}

type changeBatchOutput struct {
	Successful []idEntry         `json:"Successful,omitempty" xml:"ChangeMessageVisibilityBatchResultEntry"`
	Failed     []batchErrorEntry `json:"Failed,omitempty" xml:"BatchResultErrorEntry"`
}

type messageOutput struct {
	MessageID              string       `json:"MessageId" xml:"MessageId"`
	ReceiptHandle          string       `json:"ReceiptHandle" xml:"ReceiptHandle"`
	MD5OfBody              string       `json:"MD5OfBody" xml:"MD5OfBody"`
	Body                   string       `json:"Body" xml:"Body"`
	Attributes             nameValueMap `json:"Attributes,omitempty" xml:"Attribute"`
	MD5OfMessageAttributes string       `json:"MD5OfMessageAttributes,omitempty" xml:"MD5OfMessageAttributes,omitempty"`
	MessageAttributes      msgAttrMap   `json:"MessageAttributes,omitempty" xml:"MessageAttribute"`
}

type receiveOutput struct {
	Messages []messageOutput `json:"Messages,omitempty" xml:"Message"`
}

type startMoveOutput struct {
	TaskHandle string `json:"TaskHandle" xml:"TaskHandle"`
}

type cancelMoveOutput struct {
	ApproximateNumberOfMessagesMoved int64 `json:"ApproximateNumberOfMessagesMoved" xml:"ApproximateNumberOfMessagesMoved"`
}

type moveTaskEntry struct {
	TaskHandle                        string `json:"TaskHandle,omitempty" xml:"TaskHandle,omitempty"`
	Status                            string `json:"Status" xml:"Status"`
	SourceArn                         string `json:"SourceArn" xml:"SourceArn"`
	DestinationArn                    string `json:"DestinationArn,omitempty" xml:"DestinationArn,omitempty"`
	MaxNumberOfMessagesPerSecond      *int64 `json:"MaxNumberOfMessagesPerSecond,omitempty" xml:"MaxNumberOfMessagesPerSecond,omitempty"`
	ApproximateNumberOfMessagesMoved  int64  `json:"ApproximateNumberOfMessagesMoved" xml:"ApproximateNumberOfMessagesMoved"`
	ApproximateNumberOfMessagesToMove *int64 `json:"ApproximateNumberOfMessagesToMove,omitempty" xml:"ApproximateNumberOfMessagesToMove,omitempty"`
	FailureReason                     string `json:"FailureReason,omitempty" xml:"FailureReason,omitempty"`
	StartedTimestamp                  int64  `json:"StartedTimestamp" xml:"StartedTimestamp"`
}

type listMovesOutput struct {
	Results []moveTaskEntry `json:"Results,omitempty" xml:"ListMessageMoveTasksResultEntry"`
}

// nameValueMap is a string map; in XML each entry is
// <X><Name>k</Name><Value>v</Value></X> with X the field's element name.
type nameValueMap map[string]string

// MarshalXML implements xml.Marshaler (flattened, sorted by name).
func (m nameValueMap) MarshalXML(e *xml.Encoder, start xml.StartElement) error {
	for _, k := range sortedKeys(m) {
		if err := e.EncodeElement(struct {
			Name  string `xml:"Name"`
			Value string `xml:"Value"`
		}{k, m[k]}, start); err != nil {
			return err
		}
	}
	return nil
}

// keyValueMap is a tag map: <Tag><Key>k</Key><Value>v</Value></Tag>.
type keyValueMap map[string]string

// MarshalXML implements xml.Marshaler (flattened, sorted by key).
func (m keyValueMap) MarshalXML(e *xml.Encoder, start xml.StartElement) error {
	for _, k := range sortedKeys(m) {
		if err := e.EncodeElement(struct {
			Key   string `xml:"Key"`
			Value string `xml:"Value"`
		}{k, m[k]}, start); err != nil {
			return err
		}
	}
	return nil
}

// msgAttrMap holds message attributes; in XML binary values are base64.
type msgAttrMap map[string]MessageAttributeValue

type xmlAttrValue struct {
	StringValue     string   `xml:"StringValue,omitempty"`
	BinaryValue     string   `xml:"BinaryValue,omitempty"`
	StringListValue []string `xml:"StringListValue,omitempty"`
	BinaryListValue []string `xml:"BinaryListValue,omitempty"`
	DataType        string   `xml:"DataType"`
}

// MarshalXML implements xml.Marshaler (flattened, sorted by name).
func (m msgAttrMap) MarshalXML(e *xml.Encoder, start xml.StartElement) error {
	for _, k := range sortedKeys(m) {
		a := m[k]
		v := xmlAttrValue{StringValue: a.StringValue, StringListValue: a.StringListValues, DataType: a.DataType}
		if a.BinaryValue != nil {
			v.BinaryValue = base64.StdEncoding.EncodeToString(a.BinaryValue)
		}
		for _, b := range a.BinaryListValues {
			v.BinaryListValue = append(v.BinaryListValue, base64.StdEncoding.EncodeToString(b))
		}
		if err := e.EncodeElement(struct {
			Name  string       `xml:"Name"`
			Value xmlAttrValue `xml:"Value"`
		}{k, v}, start); err != nil {
			return err
		}
	}
	return nil
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// decodeInput decodes an awsJson body (or the document built from query
// parameters) into v.
func decodeInput(b []byte, v any) error {
	if err := protocol.UnmarshalJSON(b, v); err != nil {
		return err
	}
	return nil
}
