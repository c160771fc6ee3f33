"""Fogbank's Lambda runtime interface client for Python.

Fogbank starts this file with the host's interpreter for python3.x
functions. It speaks the Lambda Runtime API (2018-06-01) at
$AWS_LAMBDA_RUNTIME_API: it loads the handler named by _HANDLER
("module.function", the module found on LAMBDA_TASK_ROOT or a layer's
python directory), then loops over invocation/next, calls the handler with
the event and a context object, and posts the result, or the error document
Lambda's Python runtime posts. Only the standard library is used.
"""

import sys

if sys.version_info < (3, 8):
    sys.stderr.write("Fogbank's Python runtime needs Python 3.8 or later; this interpreter is %d.%d\n"
                     % sys.version_info[:2])
    sys.exit(1)

import decimal  # noqa: E402
import http.client  # noqa: E402
import importlib  # noqa: E402
import json  # noqa: E402
import logging  # noqa: E402
import os  # noqa: E402
import time  # noqa: E402
import traceback  # noqa: E402

_SHIM_FILE = os.path.abspath(__file__)
_API_PREFIX = "/2018-06-01/runtime"
_ERROR_TYPE_HEADER = "Lambda-Runtime-Function-Error-Type"


class _Fault(Exception):
    """A runtime-detected failure with Lambda's error type."""

    def __init__(self, error_type, message, trace=None):
        Exception.__init__(self, message)
        self.error_type = error_type
        self.message = message
        self.trace = trace or []


class _RuntimeAPI:
    """A minimal client of the Runtime API over one keep-alive connection."""

    def __init__(self, address):
        host, _, port = address.rpartition(":")
        self._host = host.strip("[]")
        self._port = int(port)
        self._conn = None

    def _call(self, method, path, body=None, headers=None):
        for attempt in (0, 1):
            if self._conn is None:
                self._conn = http.client.HTTPConnection(self._host, self._port)
            try:
                self._conn.request(method, _API_PREFIX + path, body=body, headers=headers or {})
                resp = self._conn.getresponse()
                return resp, resp.read()
            except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError):
                # The server closed an idle keep-alive connection before it
                # read this request: reconnect once.
                self._conn.close()
                self._conn = None
                if attempt:
                    raise
        raise AssertionError("unreachable")

    def next(self):
        resp, body = self._call("GET", "/invocation/next")
        if resp.status != 200:
            raise RuntimeError("invocation/next answered %d: %r" % (resp.status, body[:200]))
        return resp.headers, body

    def respond(self, request_id, payload):
        self._call("POST", "/invocation/%s/response" % request_id, payload,
                   {"Content-Type": "application/json"})

    def error(self, request_id, doc):
        self._call("POST", "/invocation/%s/error" % request_id, _dump_error(doc), _error_headers(doc))

    def init_error(self, doc):
        self._call("POST", "/init/error", _dump_error(doc), _error_headers(doc))


def _error_headers(doc):
    etype = "".join(c for c in str(doc.get("errorType", "")) if " " <= c <= "~") or "Unhandled"
    return {"Content-Type": "application/json", _ERROR_TYPE_HEADER: etype}


def _dump_error(doc):
    return json.dumps(doc).encode("utf-8")


def _user_frames(tb):
    """The traceback's frames without this file's own."""
    return [f for f in traceback.extract_tb(tb) if os.path.abspath(f.filename) != _SHIM_FILE]


def _exception_doc(exc, request_id):
    """Lambda's Python error document for an exception."""
    if isinstance(exc, _Fault):
        return {"errorMessage": exc.message, "errorType": exc.error_type, "requestId": request_id,
                "stackTrace": list(exc.trace)}
    return {"errorMessage": str(exc), "errorType": type(exc).__name__, "requestId": request_id,
            "stackTrace": traceback.format_list(_user_frames(exc.__traceback__))}


def _log_error(doc):
    """Writes an error as Lambda's Python runtime logs it: one event, lines joined by CR."""
    if _json_logs():
        line = json.dumps({"timestamp": _timestamp(time.time()), "level": "ERROR",
                           "message": {"errorMessage": doc["errorMessage"], "errorType": doc["errorType"],
                                       "requestId": doc.get("requestId", ""),
                                       "stackTrace": doc.get("stackTrace", [])},
                           "requestId": doc.get("requestId", "")})
    else:
        text = "[ERROR] %s: %s\nTraceback (most recent call last):\n%s" % (
            doc["errorType"], doc["errorMessage"], "".join(doc.get("stackTrace", [])))
        line = text.rstrip("\n").replace("\n", "\r")
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def _json_logs():
    return os.environ.get("AWS_LAMBDA_LOG_FORMAT", "").upper() == "JSON"


def _timestamp(t):
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(t)) + ".%03dZ" % (int(t * 1000) % 1000)


class _RequestState:
    """The invocation in flight, for log records."""
    request_id = None


class _RequestFilter(logging.Filter):
    def __init__(self, state):
        logging.Filter.__init__(self)
        self._state = state

    def filter(self, record):
        record.aws_request_id = self._state.request_id or ""
        return True


class _TextFormatter(logging.Formatter):
    def format(self, record):
        msg = record.getMessage()
        if record.exc_info:
            msg += "\n" + self.formatException(record.exc_info)
        return "[%s]\t%s\t%s\t%s" % (record.levelname, _timestamp(record.created),
                                     getattr(record, "aws_request_id", ""), msg)


class _JSONFormatter(logging.Formatter):
    def format(self, record):
        out = {"timestamp": _timestamp(record.created), "level": record.levelname,
               "message": record.getMessage(), "logger": record.name}
        rid = getattr(record, "aws_request_id", "")
        if rid:
            out["requestId"] = rid
        if record.exc_info and record.exc_info[1] is not None:
            exc = record.exc_info[1]
            out["errorType"] = type(exc).__name__
            out["errorMessage"] = str(exc)
            out["stackTrace"] = traceback.format_tb(record.exc_info[2])
        return json.dumps(out, default=str)


class _StdoutHandler(logging.Handler):
    """Writes each record as one log event (newlines become CR, as in Lambda)."""

    def emit(self, record):
        try:
            line = self.format(record).replace("\n", "\r")
            sys.stdout.write(line + "\n")
            sys.stdout.flush()
        except Exception:
            self.handleError(record)


def _setup_logging(state):
    handler = _StdoutHandler()
    handler.addFilter(_RequestFilter(state))
    handler.setFormatter(_JSONFormatter() if _json_logs() else _TextFormatter())
    root = logging.getLogger()
    root.addHandler(handler)
    level = os.environ.get("AWS_LAMBDA_LOG_LEVEL", "").upper()
    levels = {"TRACE": logging.DEBUG, "DEBUG": logging.DEBUG, "INFO": logging.INFO, "WARN": logging.WARNING,
              "ERROR": logging.ERROR, "FATAL": logging.CRITICAL}
    if level in levels:
        root.setLevel(levels[level])


def _setup_path(task_root):
    """Puts the function's code and the layers' python directories first on sys.path."""
    here = os.path.dirname(_SHIM_FILE)
    sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != here]
    opt = os.environ.get("FOGBANK_OPT_DIR") or "/opt"
    ver = "python%d.%d" % sys.version_info[:2]
    front = [task_root, os.path.join(opt, "python", "lib", ver, "site-packages"), os.path.join(opt, "python")]
    sys.path[0:0] = [p for p in front if p not in sys.path]


def _load_handler(spec):
    """Imports the handler's module; a missing function fails at invocation, as in Lambda."""
    try:
        modname, fname = spec.rsplit(".", 1)
    except ValueError as e:
        raise _Fault("Runtime.MalformedHandlerName", "Bad handler '%s': %s" % (spec, e))
    if modname.split(".")[0] in sys.builtin_module_names:
        raise _Fault("Runtime.BuiltInModuleConflict",
                     "Cannot use built-in module %s as a handler module" % modname)
    try:
        module = importlib.import_module(modname.replace("/", "."))
    except ImportError as e:
        raise _Fault("Runtime.ImportModuleError", "Unable to import module '%s': %s" % (modname, e))
    except SyntaxError as e:
        trace = ['  File "%s" Line %s\n    %s\n' % (e.filename, e.lineno, (e.text or "").strip())]
        raise _Fault("Runtime.UserCodeSyntaxError", "Syntax error in module '%s': %s" % (modname, e), trace)
    handler = getattr(module, fname, None)
    if handler is None:
        fault = _Fault("Runtime.HandlerNotFound", "Handler '%s' missing on module '%s'" % (fname, modname))

        def missing(event, context):
            raise fault
        return missing
    return handler


class CognitoIdentity:
    """The caller's Amazon Cognito identity (context.identity)."""

    def __init__(self, doc):
        self.cognito_identity_id = doc.get("cognitoIdentityId")
        self.cognito_identity_pool_id = doc.get("cognitoIdentityPoolId")

    def __repr__(self):
        return "CognitoIdentity(%r, %r)" % (self.cognito_identity_id, self.cognito_identity_pool_id)


class Client:
    """The calling application (context.client_context.client)."""

    def __init__(self, doc):
        self.installation_id = doc.get("installation_id")
        self.app_title = doc.get("app_title")
        self.app_version_name = doc.get("app_version_name")
        self.app_version_code = doc.get("app_version_code")
        self.app_package_name = doc.get("app_package_name")


class ClientContext:
    """The client context the caller sent (context.client_context)."""

    def __init__(self, doc):
        client = doc.get("client")
        self.client = Client(client) if isinstance(client, dict) else None
        self.custom = doc.get("custom")
        self.env = doc.get("env")


class LambdaContext:
    """The context object passed to the handler, as Lambda's Python runtime builds it."""

    def __init__(self, request_id, deadline_ms, invoked_arn, client_context, identity):
        self.aws_request_id = request_id
        self.invoked_function_arn = invoked_arn
        self.function_name = os.environ.get("AWS_LAMBDA_FUNCTION_NAME")
        self.function_version = os.environ.get("AWS_LAMBDA_FUNCTION_VERSION")
        self.memory_limit_in_mb = os.environ.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE")
        self.log_group_name = os.environ.get("AWS_LAMBDA_LOG_GROUP_NAME")
        self.log_stream_name = os.environ.get("AWS_LAMBDA_LOG_STREAM_NAME")
        self.client_context = client_context
        self.identity = identity
        self._deadline_ms = deadline_ms

    def get_remaining_time_in_millis(self):
        return max(self._deadline_ms - int(time.time() * 1000), 0)

    def __repr__(self):
        return ("LambdaContext([aws_request_id=%s,log_group_name=%s,log_stream_name=%s,function_name=%s,"
                "memory_limit_in_mb=%s,function_version=%s,invoked_function_arn=%s,client_context=%s,"
                "identity=%s])" % (self.aws_request_id, self.log_group_name, self.log_stream_name,
                                   self.function_name, self.memory_limit_in_mb, self.function_version,
                                   self.invoked_function_arn, self.client_context, self.identity))


def _json_object(text):
    if not text:
        return None
    try:
        doc = json.loads(text)
    except ValueError:
        return None
    return doc if isinstance(doc, dict) else None


def _context(headers):
    cc = _json_object(headers.get("Lambda-Runtime-Client-Context"))
    ident = _json_object(headers.get("Lambda-Runtime-Cognito-Identity"))
    try:
        deadline = int(headers.get("Lambda-Runtime-Deadline-Ms", "0"))
    except ValueError:
        deadline = 0
    return LambdaContext(headers.get("Lambda-Runtime-Aws-Request-Id", ""), deadline,
                         headers.get("Lambda-Runtime-Invoked-Function-Arn"),
                         ClientContext(cc) if cc is not None else None, CognitoIdentity(ident or {}))


def _default(o):
    if isinstance(o, decimal.Decimal):
        return int(o) if o == o.to_integral_value() else float(o)
    raise TypeError("Object of type %s is not JSON serializable" % type(o).__name__)


def _serve(api, handler, state):
    while True:
        headers, body = api.next()
        context = _context(headers)
        rid = context.aws_request_id
        state.request_id = rid
        trace_id = headers.get("Lambda-Runtime-Trace-Id")
        if trace_id:
            os.environ["_X_AMZN_TRACE_ID"] = trace_id
        else:
            os.environ.pop("_X_AMZN_TRACE_ID", None)
        try:
            event = json.loads(body) if body else {}
        except ValueError as e:
            doc = _exception_doc(_Fault("Runtime.UnmarshalError", "Unable to unmarshal input: %s" % e), rid)
            _log_error(doc)
            api.error(rid, doc)
            continue
        try:
            result = handler(event, context)
        except Exception as e:  # noqa: BLE001 - every handler failure is reported
            doc = _exception_doc(e, rid)
            _log_error(doc)
            api.error(rid, doc)
            continue
        try:
            payload = json.dumps(result, default=_default).encode("utf-8")
        except (TypeError, ValueError, OverflowError) as e:
            doc = _exception_doc(_Fault("Runtime.MarshalError", "Unable to marshal response: %s" % e), rid)
            _log_error(doc)
            api.error(rid, doc)
            continue
        api.respond(rid, payload)


def main():
    api = _RuntimeAPI(os.environ["AWS_LAMBDA_RUNTIME_API"])
    task_root = os.environ.get("LAMBDA_TASK_ROOT") or os.getcwd()
    state = _RequestState()
    _setup_path(task_root)
    _setup_logging(state)
    try:
        handler = _load_handler(os.environ.get("_HANDLER", ""))
    except Exception as e:  # noqa: BLE001 - any failure of the user's module is an init error
        doc = _exception_doc(e, "")
        _log_error(doc)
        api.init_error(doc)
        sys.exit(1)
    _serve(api, handler, state)


if __name__ == "__main__":
    main()
