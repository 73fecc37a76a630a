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
