from django.apps import AppConfig


class DispatchConfig(AppConfig):
    name = "dispatch"

    def ready(self) -> None:
        """Dispatch's answers to the telephone (backend/telephony/flows.py): the emergency
        call-out's and the visit confirmation's keypad answers, SMS replies (an offer's code, a
        visit confirmation). An SMS nothing took is the hotline's (a call-back task)."""
        from backend.telephony import flows

        from . import callout, offer_sms, visit_confirmation

        flows.register_flow(
            callout.FLOW, on_digits=callout.callout_digits, on_ended=callout.callout_call_ended
        )
        flows.register_flow(
            visit_confirmation.FLOW,
            on_digits=visit_confirmation.visit_confirmation_digits,
            on_ended=visit_confirmation.visit_confirmation_call_ended,
        )
        flows.register_sms_handler(offer_sms.offer_sms_reply)
        flows.register_sms_handler(visit_confirmation.visit_confirmation_sms_reply)

        # The family's and the worker's "how far now" while the worker is on the way.
        from providers.services.workers import ON_A_JOB_POSITION

        from .en_route import en_route_distance_push

        if en_route_distance_push not in ON_A_JOB_POSITION:
            ON_A_JOB_POSITION.append(en_route_distance_push)
