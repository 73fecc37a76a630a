/// Checks policies and requests against a schema, in Cedar's strict mode.
public struct Validator: Sendable {
    /// The schema checked against.
    public let schema: Schema
    private let environments: [RequestEnvironment]

    /// Creates a validator for a schema.
    public init(schema: Schema) {
        self.schema = schema
        var environments: [RequestEnvironment] = []
        for action in schema.actionIDs {
            let definition = schema.actions[action]!
            for principal in definition.principals {
                for resource in definition.resources {
                    environments.append(RequestEnvironment(principal: principal, action: action, resource: resource, context: definition.context))
                }
            }
        }
        self.environments = environments
    }

    /// Every error in the static policies and templates of `policies`; empty means valid.
    ///
    /// A policy that can never be satisfied in any request environment is not an error,
    /// matching Cedar, which reports it only as a warning.
    public func validate(_ policies: PolicySet) -> [ValidationError] {
        (policies.templates + policies.policies).flatMap(validate)
    }

    /// Every error in one policy or template.
    public func validate(_ policy: Policy) -> [ValidationError] {
        var errors = checkNames(in: policy)
        if let applicationError = checkActionApplication(policy) {
            errors.append(applicationError)
        }
        // The same mistake usually fails in every request environment; it is reported once, naming the first.
        var failures: [(message: String, environment: RequestEnvironment, others: Int)] = []
        for environment in environments {
            let checker = Typechecker(schema: schema, environment: environment)
            do throws(TypeFailure) {
                guard case .bool = try checker.typeOf(policy.condition, []).type else {
                    throw TypeFailure(message: "the policy's conditions must be boolean")
                }
            } catch {
                if let index = failures.firstIndex(where: { $0.message == error.message }) {
                    failures[index].others += 1
                } else {
                    failures.append((error.message, environment, 0))
                }
            }
        }
        for failure in failures {
            let environment = failure.environment
            let more = failure.others == 0 ? "" : ", and \(failure.others) more"
            errors.append(ValidationError(
                code: .typeError, policyID: policy.id,
                message: "\(failure.message) (for principal \(environment.principal), action \(environment.action), resource \(environment.resource)\(more))"
            ))
        }
        return errors
    }
}
