"""An A2A agent built with `a2a-sdk` (protocol v1) and served by the bedrock-agentcore SDK's `serve_a2a`, as
AgentCore Runtime expects of A2A agents: JSON-RPC 2.0 at / on port 9000, the agent card at
/.well-known/agent-card.json (advertising AGENTCORE_RUNTIME_URL, which the gateway sets to this runtime's public
invocation URL), and /ping.

It answers every message with a completed task whose artifact echoes the text it received and names the runtime
session the call belongs to, so a client can see that follow-up calls reach the same session.
"""
from a2a.helpers import new_task_from_user_message, new_text_artifact
from a2a.server.agent_execution import AgentExecutor, RequestContext
from a2a.server.events import EventQueue
from a2a.server.tasks import TaskUpdater
from a2a.types import AgentCapabilities, AgentCard, AgentSkill
from bedrock_agentcore.runtime import serve_a2a


class EchoExecutor(AgentExecutor):
    async def execute(self, context: RequestContext, event_queue: EventQueue) -> None:
        task = context.current_task or new_task_from_user_message(context.message)
        if context.current_task is None:
            await event_queue.enqueue_event(task)
        updater = TaskUpdater(event_queue, task.id, task.context_id)
        session = context.call_context.state.get("session_id") or ""
        await updater.start_work()
        await updater.add_artifact(
            new_text_artifact(name="echo", text=f"echo: {context.get_user_input()}").parts,
            name="echo",
            metadata={"sessionId": session},
        )
        await updater.complete()

    async def cancel(self, context: RequestContext, event_queue: EventQueue) -> None:
        task = context.current_task
        if task is not None:
            await TaskUpdater(event_queue, task.id, task.context_id).cancel()


card = AgentCard(
    name="portcullis-a2a-example",
    description="Echoes what it is told and the runtime session it runs in.",
    version="1.0.0",
    capabilities=AgentCapabilities(streaming=True),
    skills=[AgentSkill(id="echo", name="echo", description="Repeats the message text.", tags=["echo"])],
    default_input_modes=["text"],
    default_output_modes=["text"],
)

if __name__ == "__main__":
    serve_a2a(EchoExecutor(), card)
