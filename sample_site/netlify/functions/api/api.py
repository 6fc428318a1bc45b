"""Express-style API: a Flask app behind one function, the Python take on serverless-http.

Netlify calls the function with the path the browser asked for:
``/.netlify/functions/api/items``, or ``/api/items`` when netlify.toml rewrites
``/api/*`` to it. The routes live in a Blueprint mounted under both prefixes.

    GET  /api/            -> 200 index of the routes
    GET  /api/items       -> 200 list of items
    POST /api/items       -> 201 the JSON body, echoed with a new id
    GET  /api/items/<id>  -> 200 one item, 404 if unknown
"""

from __future__ import annotations

from apig_wsgi import make_lambda_handler
from flask import Blueprint, Flask, abort, jsonify, request

ITEMS: dict[int, dict] = {
    1: {"id": 1, "name": "towel", "price": 9.5},
    2: {"id": 2, "name": "guide", "price": 42.0},
}

bp = Blueprint("api", __name__)


@bp.get("/", strict_slashes=False)
def index():
    return jsonify(service="api", routes=["GET /items", "POST /items", "GET /items/<id>"])


@bp.get("/items")
def list_items():
    return jsonify(items=list(ITEMS.values()))


@bp.post("/items")
def create_item():
    # force=True: API Gateway test events often lack a Content-Type header.
    data = request.get_json(force=True, silent=True)
    if not isinstance(data, dict):
        abort(400, description="expected a JSON object")
    item = {**data, "id": max(ITEMS, default=0) + 1}
    ITEMS[item["id"]] = item
    return jsonify(item), 201


@bp.get("/items/<int:item_id>")
def get_item(item_id: int):
    if item_id not in ITEMS:
        abort(404, description=f"no item {item_id}")
    return jsonify(ITEMS[item_id])


app = Flask(__name__)
app.register_blueprint(bp, url_prefix="/.netlify/functions/api")
app.register_blueprint(bp, url_prefix="/api", name="api_rewritten")

# apig_wsgi reads only multiValueHeaders / multiValueQueryStringParameters when
# those keys are present in the event (as they are from API Gateway and Netlify).
handler = make_lambda_handler(app)
