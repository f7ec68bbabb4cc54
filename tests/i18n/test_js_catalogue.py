"""Our scripts' texts: the djangojs catalogue, served at /jsi18n/ in the request's language."""

import json

from django.test import Client

from backend.core.maps import MapWidget

MAP_UNAVAILABLE_ZH = json.dumps("地图无法加载")[1:-1]  # as the catalogue writes it (\\uXXXX)


def test_the_js_catalogue_serves_our_chinese_by_default(db):
    response = Client().get("/jsi18n/")

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/javascript")
    assert MAP_UNAVAILABLE_ZH in response.content.decode()


def test_the_js_catalogue_in_english_has_no_translations_of_ours(db):
    response = Client(headers={"Accept-Language": "en"}).get("/jsi18n/")

    assert response.status_code == 200
    assert MAP_UNAVAILABLE_ZH not in response.content.decode()


def test_the_map_widget_loads_the_catalogue_before_its_script():
    scripts = [str(js) for js in MapWidget().media._js]

    assert scripts.index("/jsi18n/") < scripts.index("core/map_widget.js")
