import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import PortcullisCore

extension AgentCoreError {
    /// The envelope's header fields: content type, `X-Amzn-ErrorType`, the request id and any extra headers.
    func envelopeHeaders(requestId: String) -> HTTPFields {
        var fields = HTTPFields()
        fields[.contentType] = "application/json"
        fields[.amznErrorType] = code.rawValue
        fields[.amznRequestId] = requestId
        for header in headers {
            if let name = HTTPField.Name(header.name) {
                fields.append(HTTPField(name: name, value: header.value))
            }
        }
        return fields
    }

    /// This error as a response head and body, for handlers that write response parts themselves.
    func envelopeParts(requestId: String, closeConnection: Bool = false, status: Int? = nil) -> (head: HTTPResponse, body: ByteBuffer) {
        let body = ByteBuffer(bytes: envelopeJSON())
        var headers = envelopeHeaders(requestId: requestId)
        headers[.contentLength] = String(body.readableBytes)
        if closeConnection { headers[.connection] = "close" }
        return (HTTPResponse(status: HTTPResponse.Status(code: status ?? code.httpStatus), headerFields: headers), body)
    }

    /// This error as a complete HTTP response in the AgentCore envelope.
    func response(requestId: String) -> Response {
        let body = ByteBuffer(bytes: envelopeJSON())
        var headers = envelopeHeaders(requestId: requestId)
        headers[.contentLength] = String(body.readableBytes)
        return Response(
            status: HTTPResponse.Status(code: code.httpStatus),
            headers: headers,
            body: ResponseBody(byteBuffer: body)
        )
    }
}
