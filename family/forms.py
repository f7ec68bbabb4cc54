from django import forms
from django.utils.translation import gettext_lazy

from elders.selectors import phone_to_e164


class PhoneForm(forms.Form):
    phone = forms.CharField(
        label=gettext_lazy("Mobile number"),
        max_length=30,
        widget=forms.TextInput(
            attrs={"inputmode": "tel", "autocomplete": "tel", "autofocus": True}
        ),
    )

    def clean_phone(self) -> str:
        e164 = phone_to_e164(self.cleaned_data["phone"])
        if e164 is None:
            raise forms.ValidationError(gettext_lazy("Enter a mobile number, e.g. 138 0013 8000."))
        return e164


class CodeForm(forms.Form):
    code = forms.RegexField(
        label=gettext_lazy("Code from the text message"),
        regex=r"^\d{6}$",
        error_messages={"invalid": gettext_lazy("The code is six digits.")},
        widget=forms.TextInput(
            attrs={
                "inputmode": "numeric",
                "autocomplete": "one-time-code",
                "maxlength": "6",
                "autofocus": True,
            }
        ),
    )
