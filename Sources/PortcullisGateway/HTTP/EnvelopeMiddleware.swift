import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import PortcullisCore

/// Outermost middleware: every response carries `x-amzn-RequestId`, and every failure leaves in the AgentCore
/// error envelope with a deliberate status, never an accidental 500 with Hummingbird's body.
///
/// It also counts every answer (`portcullis_requests_total`, `portcullis_request_duration_seconds`) by its route
/// pattern, never the raw path, so the labels stay a fixed set.
struct EnvelopeMiddleware: RouterMiddleware {
    typealias Context = GatewayRequestContext

    let metrics: GatewayMetrics

    func handle(
        _ request: Request,
        context: GatewayRequestContext,
        next: (Request, GatewayRequestContext) async throws -> Response
    ) async throws -> Response {
        let response = await answer(request, context: context, next: next)
        let route = context.endpointPath ?? "unmatched"
        metrics.increment(.requests, route, context.observation.agentRuntimeId, String(response.status.code))
        metrics.observe(.requestDuration, route, since: context.arrivedAt)
        return response
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
