import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import PortcullisCore
import Tracing

/// Outermost middleware: every response carries `x-amzn-RequestId`, and every failure leaves in the AgentCore
/// error envelope with a deliberate status, never an accidental 500 with Hummingbird's body.
///
/// It also counts every answer (`portcullis_requests_total`, `portcullis_request_duration_seconds`) by its route
/// pattern, never the raw path, so the labels stay a fixed set. With tracing on, it opens the request's server span
/// (a child of the caller's `traceparent`), which every step of the handler nests under.
struct EnvelopeMiddleware: RouterMiddleware {
    typealias Context = GatewayRequestContext

    let metrics: GatewayMetrics
    let tracing: GatewayTracing

    func handle(
        _ request: Request,
        context: GatewayRequestContext,
        next: (Request, GatewayRequestContext) async throws -> Response
    ) async throws -> Response {
        let scope = RequestLogScope.Scope(requestId: context.requestId, observation: context.observation)
        return await RequestLogScope.$current.withValue(scope) { await observed(request, context: context, next: next) }
    }

    private func observed(
        _ request: Request,
        context: GatewayRequestContext,
        next: (Request, GatewayRequestContext) async throws -> Response
    ) async -> Response {
        var response: Response
        if let span = tracing.startServerSpan(request.method.rawValue, headers: request.headers) {
            response = await tracing.within(span) { await answer(request, context: context, next: next) }
            Self.describe(span, request: request, context: context, response: response)
            if GatewayTracing.isStreamed(response.body) {
                response.body = GatewayTracing.ending(span, after: response.body)
            } else {
                span.end()
            }
        } else {
            response = await answer(request, context: context, next: next)
        }
        let route = context.endpointPath ?? "unmatched"
        metrics.increment(.requests, route, context.observation.agentRuntimeId, String(response.status.code))
        metrics.observe(.requestDuration, route, since: context.arrivedAt)
        return response
    }

    /// The HTTP server attributes of OpenTelemetry's semantic conventions, plus the AgentCore request id and the
    /// agent runtime. Only the path is recorded, never the query (presigned URLs carry signatures there). A span of
    /// a streamed answer ends when its last byte is written.
    private static func describe(_ span: any Span, request: Request, context: GatewayRequestContext, response: Response) {
        let route = context.endpointPath
        span.operationName = route.map { "\(request.method.rawValue) \($0)" } ?? request.method.rawValue
        var attributes = span.attributes
        attributes["http.request.method"] = request.method.rawValue
        attributes["url.path"] = String(request.uri.path.prefix(2048))
        if let route { attributes["http.route"] = route }
        attributes["http.response.status_code"] = Int(response.status.code)
        if let address = context.channel.remoteAddress?.ipAddress { attributes["client.address"] = address }
        if let agent = request.headers[.userAgent] { attributes["user_agent.original"] = String(agent.prefix(512)) }
        attributes["aws.request_id"] = context.requestId
        let runtime = context.observation.agentRuntimeId
        if !runtime.isEmpty { attributes["gen_ai.agent.id"] = runtime }
        span.attributes = attributes
        if response.status.code >= 500 {
            span.setStatus(SpanStatus(code: .error, message: response.headers[.amznErrorType]))
        }
    }

    private func answer(
        _ request: Request,
        context: GatewayRequestContext,
        next: (Request, GatewayRequestContext) async throws -> Response
    ) async -> Response {
        do {
            var response = try await next(request, context)
            response.headers[.amznRequestId] = context.requestId
            return response
        } catch let error as AgentCoreError {
            return error.response(requestId: context.requestId)
        } catch let error as HTTPError {
            return Self.translate(error).response(requestId: context.requestId)
        } catch is NIOTooManyBytesError {
            return AgentCoreError(.payloadTooLarge, "The request body is too large").response(requestId: context.requestId)
        } catch is CancellationError {
            // The client went away; nobody reads this response.
            return AgentCoreError(.runtimeClientError, "The request was cancelled").response(requestId: context.requestId)
        } catch {
            context.logger.error(
                "unhandled error",
                metadata: ["request_id": "\(context.requestId)", "error": "\(String(reflecting: type(of: error)))"]
            )
            return AgentCoreError(.internalServer, "Internal error; quote request id \(context.requestId) to your operator")
                .response(requestId: context.requestId)
        }
    }

    /// Maps Hummingbird's own errors (no route, body too large, bad body) onto AgentCore codes.
    static func translate(_ error: HTTPError) -> AgentCoreError {
        switch error.status.code {
        case 404, 405:
            AgentCoreError(.unknownOperation, "No operation matches this method and path")
        case 413:
            AgentCoreError(.payloadTooLarge, "The request body is too large")
        case 400..<500:
            AgentCoreError.cannotParse(error.body ?? "The request could not be parsed")
        default:
            AgentCoreError(.internalServer, "Internal error")
        }
    }
}
