import Logging
import NIOCore
import NIOWebSocket

/// Relays WebSocket frames between a client and an agent, one frame at a time and in both directions.
///
/// Frames are forwarded as they are — text, binary, continuation, ping, pong and close with its code and reason —
/// so fragmentation, keep-alives and close codes survive end to end. Frames are re-masked for the agent (the
/// gateway is its client) and unmasked for the client. Limits: frames above the negotiated frame size are refused
/// by the decoders (close 1009), a message whose fragments add up past `maxMessageBytes` closes both sides with
/// 1009, and a connection older than `maxDuration` is closed with 1008.
struct WebSocketRelay: Sendable {
    let maxMessageBytes: Int
    let maxDuration: Duration
    let logger: Logger

    private enum Direction: Sendable {
        case towardsAgent
        case towardsClient
    }

    /// How one direction ended.
    private enum PumpEnd: Sendable {
        /// The sender's input ended after its close frame passed.
        case closedCleanly
        /// The sender went away without a close frame.
        case vanished(Direction)
        /// A message exceeded the size limit.
        case messageTooLarge
        /// A frame broke the protocol (reserved bits, oversized frame).
        case protocolError(Direction, WebSocketErrorCode)
        case timeLimit
    }

    func run(client: NIOAsyncChannel<WebSocketFrame, WebSocketFrame>, plan: WebSocketRelayPlan) async {
        guard plan.claim() else {
            try? await client.channel.close()
            return
        }
        defer { withExtendedLifetime(plan.hold) {} }
        do {
            try await client.executeThenClose { clientInbound, clientOutbound in
                try await plan.upstream.executeThenClose { agentInbound, agentOutbound in
                    let end = await withTaskGroup(of: PumpEnd.self) { group -> PumpEnd in
                        group.addTask { await pump(clientInbound, into: agentOutbound, direction: .towardsAgent, hold: plan.hold) }
                        group.addTask { await pump(agentInbound, into: clientOutbound, direction: .towardsClient, hold: plan.hold) }
                        group.addTask {
                            do {
                                try await Task.sleep(for: maxDuration)
                                return .timeLimit
                            } catch {
                                return .closedCleanly
                            }
                        }
                        let first = await group.next() ?? .closedCleanly
                        group.cancelAll()
                        return first
                    }
                    await finish(end, client: clientOutbound, agent: agentOutbound)
                }
            }
        } catch {
            logger.debug("websocket relay ended with an error", metadata: ["agent": "\(plan.agentName)", "error": "\(error)"])
        }
        logger.debug("websocket relay finished", metadata: ["agent": "\(plan.agentName)"])
    }

    private func pump(
        _ inbound: NIOAsyncChannelInboundStream<WebSocketFrame>,
        into outbound: NIOAsyncChannelOutboundWriter<WebSocketFrame>,
        direction: Direction,
        hold: SessionHold
    ) async -> PumpEnd {
        var messageBytes = 0
        var sawClose = false
        do {
            for try await frame in inbound {
                guard !frame.rsv1, !frame.rsv2, !frame.rsv3 else {
                    return .protocolError(direction, .protocolError)
                }
                switch frame.opcode {
                case .text, .binary:
                    messageBytes = frame.length
                case .continuation:
                    messageBytes += frame.length
                case .connectionClose:
                    sawClose = true
                default:
                    break
                }
                if messageBytes > maxMessageBytes {
                    return .messageTooLarge
                }
                let forwarded = WebSocketFrame(
                    fin: frame.fin,
                    opcode: frame.opcode,
                    maskKey: direction == .towardsAgent ? .random() : nil,
                    data: frame.unmaskedData
                )
                if direction == .towardsAgent { hold.countIn(frame.length) } else { hold.countOut(frame.length) }
                try await outbound.write(forwarded)
            }
        } catch let error as NIOWebSocketError {
            return .protocolError(direction, error == .invalidFrameLength ? .messageTooLarge : .protocolError)
        } catch {
            return sawClose ? .closedCleanly : .vanished(direction)
        }
        return sawClose ? .closedCleanly : .vanished(direction)
    }

    /// Tells the side still open why the relay ended, when it has not already seen a close frame.
    private func finish(
        _ end: PumpEnd,
        client: NIOAsyncChannelOutboundWriter<WebSocketFrame>,
        agent: NIOAsyncChannelOutboundWriter<WebSocketFrame>
    ) async {
        switch end {
        case .closedCleanly:
            break
        case .vanished(.towardsAgent):
            await sendClose(.goingAway, "The client went away", to: agent, masked: true)
        case .vanished(.towardsClient):
            await sendClose(.unexpectedServerError, "The agent runtime closed the connection", to: client, masked: false)
        case .messageTooLarge:
            await sendClose(.messageTooLarge, "Message exceeds \(maxMessageBytes) bytes", to: client, masked: false)
            await sendClose(.messageTooLarge, "Message exceeds \(maxMessageBytes) bytes", to: agent, masked: true)
        case .protocolError(let direction, let code):
            let reason = direction == .towardsAgent ? "The client broke the WebSocket protocol" : "The agent broke the WebSocket protocol"
            await sendClose(code, reason, to: client, masked: false)
            await sendClose(code, reason, to: agent, masked: true)
        case .timeLimit:
            await sendClose(.policyViolation, "Connection time limit reached", to: client, masked: false)
            await sendClose(.goingAway, "Connection time limit reached", to: agent, masked: true)
        }
    }

    private func sendClose(_ code: WebSocketErrorCode, _ reason: String, to outbound: NIOAsyncChannelOutboundWriter<WebSocketFrame>, masked: Bool) async {
        var data = ByteBuffer()
        data.write(webSocketErrorCode: code)
        data.writeString(reason)
        try? await outbound.write(WebSocketFrame(fin: true, opcode: .connectionClose, maskKey: masked ? .random() : nil, data: data))
    }
}
