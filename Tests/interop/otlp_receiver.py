"""A real OTLP/HTTP trace receiver for the tracing tests: decodes what arrives at POST /v1/traces with the
OpenTelemetry protocol definitions (protobuf or JSON) and serves the spans it got at GET /spans as JSON.

Also encodes and decodes one export for the tests of the gateway's tagging of agents' spans:
  otlp_receiver.py serve PORT
  otlp_receiver.py encode          -> hex of an ExportTraceServiceRequest with two resources
  otlp_receiver.py decode HEX      -> its resources' attributes and span names as JSON
"""
import json
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from google.protobuf import json_format
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest, ExportTraceServiceResponse
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue

SPANS = []
LOCK = threading.Lock()


def value(any_value):
    kind = any_value.WhichOneof("value")
    return getattr(any_value, kind) if kind else None


def attributes(pairs):
    return {pair.key: value(pair.value) for pair in pairs}


def flatten(export, content_type):
    spans = []
    for resource_spans in export.resource_spans:
        resource = attributes(resource_spans.resource.attributes)
        for scope_spans in resource_spans.scope_spans:
            for span in scope_spans.spans:
                spans.append({
                    "traceId": span.trace_id.hex(),
                    "spanId": span.span_id.hex(),
                    "parentSpanId": span.parent_span_id.hex(),
                    "name": span.name,
                    "kind": span.kind,
                    "attributes": attributes(span.attributes),
                    "status": span.status.code,
                    "startNanos": span.start_time_unix_nano,
                    "endNanos": span.end_time_unix_nano,
                    "resource": resource,
                    "contentType": content_type,
                })
    return spans


def hex_ids_to_base64(document):
    """OTLP/JSON writes trace and span ids as hex, where protobuf's JSON mapping expects base64."""
    import base64
    for resource_spans in document.get("resourceSpans", []):
        for scope_spans in resource_spans.get("scopeSpans", []):
            for span in scope_spans.get("spans", []):
                for key in ("traceId", "spanId", "parentSpanId"):
                    if span.get(key):
                        span[key] = base64.b64encode(bytes.fromhex(span[key])).decode()
    return document


class Receiver(BaseHTTPRequestHandler):
    def log_message(self, *arguments):
        pass

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        content_type = self.headers.get("Content-Type", "")
        if self.path != "/v1/traces":
            self.send_response(404)
            self.end_headers()
            return
        export = ExportTraceServiceRequest()
        if content_type.startswith("application/json"):
            json_format.ParseDict(hex_ids_to_base64(json.loads(body)), export)
        else:
            export.ParseFromString(body)
        with LOCK:
            SPANS.extend(flatten(export, content_type))
        answer = ExportTraceServiceResponse().SerializeToString()
        self.send_response(200)
        self.send_header("Content-Type", "application/x-protobuf")
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

    def do_GET(self):
        with LOCK:
            data = json.dumps(SPANS).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


def encode():
    export = ExportTraceServiceRequest()
    for index, service in enumerate(["first", "second"]):
        resource_spans = export.resource_spans.add()
        resource_spans.resource.attributes.append(KeyValue(key="service.name", value=AnyValue(string_value=service)))
        resource_spans.resource.attributes.append(KeyValue(key="portcullis.session.id", value=AnyValue(string_value="forged")))
        resource_spans.schema_url = "https://opentelemetry.io/schemas/1.24.0"
        span = resource_spans.scope_spans.add().spans.add()
        span.trace_id = bytes([index + 1] * 16)
        span.span_id = bytes([index + 1] * 8)
        span.name = f"{service}.span"
    print(export.SerializeToString().hex())


def decode():
    export = ExportTraceServiceRequest()
    export.ParseFromString(bytes.fromhex(sys.argv[2]))
    print(json.dumps([
        {
            "resource": [[pair.key, value(pair.value)] for pair in resource_spans.resource.attributes],
            "schemaUrl": resource_spans.schema_url,
            "spans": [span.name for scope in resource_spans.scope_spans for span in scope.spans],
        }
        for resource_spans in export.resource_spans
    ]))


if __name__ == "__main__":
    if sys.argv[1] == "serve":
        server = ThreadingHTTPServer(("127.0.0.1", int(sys.argv[2])), Receiver)
        print("listening", flush=True)
        server.serve_forever()
    elif sys.argv[1] == "encode":
        encode()
    else:
        decode()
