"""skpolicy: conditional logit (McFadden) choice models and linear softmax policies,
native to scikit-learn and pandas."""

from ._config import config_context, get_config, set_config
from ._estimator import SoftmaxChoiceEstimator
from ._policy import SoftmaxPolicy
from .model_selection import SituationKFold
from .policy_learning import OffPolicyLearner
from .preprocessing import ChoiceSpecification

__version__ = "0.1.0.dev0"

__all__ = [
    "ChoiceSpecification",
    "OffPolicyLearner",
    "SituationKFold",
    "SoftmaxChoiceEstimator",
    "SoftmaxPolicy",
    "__version__",
    "config_context",
    "get_config",
    "set_config",
]
